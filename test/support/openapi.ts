/**
 * Validation of API response bodies against one of Twilio's published OpenAPI descriptions
 * (/work/shared/specs/twilio_*_v1.json) with ajv: the schema itself (OpenAPI 3.0's `nullable`
 * turned into JSON Schema) AND the exact field set (no field missing, none extra), dates in
 * Twilio's `YYYY-MM-DDThh:mm:ssZ`. Shared by the TaskRouter suite (test/api/helpers.ts) and the
 * Conversations suite (test/conversations/openapi.test.ts).
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { Ajv, type ValidateFunction } from 'ajv';
import addFormatsModule from 'ajv-formats';

/**
 * OpenAPI 3.0 → JSON Schema: `nullable: true` becomes a `null` member of `type` (and of `enum`);
 * on a schema without `type` (any value) it is simply dropped.
 */
export function fromOpenApi(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(fromOpenApi);
  if (node === null || typeof node !== 'object') return node;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(node)) out[k] = fromOpenApi(v);
  if (out['nullable'] === true) {
    delete out['nullable'];
    if (typeof out['type'] === 'string') out['type'] = [out['type'], 'null'];
    if (Array.isArray(out['enum'])) out['enum'] = [...(out['enum'] as unknown[]), null];
  }
  return out;
}

export interface OpenApiValidator {
  /** Asserts that `body` matches the named response schema (`prefix` + name) and has exactly its fields. */
  assertSchema(name: string, body: unknown): void;
  /** Asserts a list body: its key, `meta` shape with absolute URLs on `base`, and every item's schema. Returns the items. */
  assertListBody(name: string, key: string, body: unknown, base: string): Record<string, unknown>[];
}

/**
 * A validator for the spec file `specFile` (a name in /work/shared/specs), whose component
 * schemas are named `prefix` + name (e.g. `taskrouter.v1.` + `task`).
 */
export function openApiValidator(specFile: string, prefix: string): OpenApiValidator {
  const spec = JSON.parse(readFileSync(new URL(`../../../shared/specs/${specFile}`, import.meta.url), 'utf8')) as {
    components: { schemas: Record<string, { properties?: Record<string, unknown> }> };
  };
  const ajv = new Ajv({ strict: false, allErrors: true });
  (addFormatsModule as unknown as (a: Ajv) => void)(ajv);
  ajv.addFormat('uri-map', true);
  ajv.addSchema({ $id: 'spec', components: fromOpenApi(spec.components) as object });
  const validators = new Map<string, ValidateFunction>();

  const assertSchema = (name: string, body: unknown): void => {
    const schema = spec.components.schemas[`${prefix}${name}`];
    assert.ok(schema !== undefined, `no schema ${name}`);
    let validate = validators.get(name);
    if (validate === undefined) {
      validate = ajv.compile({ $ref: `spec#/components/schemas/${prefix}${name}` });
      validators.set(name, validate);
    }
    assert.ok(validate(body), `${name}: ${ajv.errorsText(validate.errors)}\n${JSON.stringify(body, null, 1)}`);
    assert.deepEqual(Object.keys(body as object).sort(), Object.keys(schema.properties ?? {}).sort(), `${name}: fields differ from the schema`);
    for (const [k, v] of Object.entries(body as Record<string, unknown>)) {
      if (/^date_|_date$|^virtual_start_time$|^(start|end)_time$/.test(k) && v !== null) assert.match(String(v), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/, `${name}.${k}`);
    }
  };

  const assertListBody = (name: string, key: string, body: unknown, base: string): Record<string, unknown>[] => {
    const b = body as { meta: Record<string, unknown> } & Record<string, unknown>;
    assert.deepEqual(Object.keys(b).sort(), [key, 'meta'].sort());
    const meta = b.meta;
    assert.deepEqual(Object.keys(meta).sort(), ['first_page_url', 'key', 'next_page_url', 'page', 'page_size', 'previous_page_url', 'url']);
    assert.equal(meta['key'], key);
    for (const k of ['first_page_url', 'url']) assert.ok(String(meta[k]).startsWith(base + '/v1/'), `${k} ${String(meta[k])}`);
    for (const k of ['next_page_url', 'previous_page_url']) assert.ok(meta[k] === null || String(meta[k]).startsWith(base + '/v1/'));
    const items = b[key] as Record<string, unknown>[];
    assert.ok(Array.isArray(items));
    for (const item of items) assertSchema(name, item);
    return items;
  };

  return { assertSchema, assertListBody };
}
