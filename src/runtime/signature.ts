/**
 * X-Twilio-Signature (spec §11): HMAC-SHA1, keyed with the account's auth token, over the URL we
 * call (connection-override fragment removed) followed by every POST parameter as `name + value`,
 * names sorted in byte order (repeated names: once per value, values sorted). Base64.
 */
import { createHmac } from 'node:crypto';

/** Form parameters: a value, or several values for a repeated name. */
export type FormParams = Readonly<Record<string, string | readonly string[]>>;

/** Code units at which UTF-16 order (JS `<`) can differ from UTF-8 byte order: surrogates and U+E000–U+FFFF. */
const NOT_UNIT_ORDER = /[\uD800-\uFFFF]/;

/**
 * UTF-8 byte order. It is code point order, which JS string comparison (UTF-16 code units) gives
 * too unless a string holds a surrogate or a character from U+E000 up: only then are bytes compared.
 */
const byteOrder = (a: string, b: string): number => {
  if (NOT_UNIT_ORDER.test(a) || NOT_UNIT_ORDER.test(b)) return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
  return a < b ? -1 : a > b ? 1 : 0;
};

/** The `X-Twilio-Signature` value (base64 HMAC-SHA1, see the module comment) of a POST of `params` to `url`, signed with `authToken`. */
export function twilioSignature(authToken: string, url: string, params: FormParams): string {
  let data = stripFragment(url);
  for (const name of Object.keys(params).sort(byteOrder)) {
    const value = params[name] as string | readonly string[];
    const values = typeof value === 'string' ? [value] : [...value].sort(byteOrder);
    for (const v of values) data += name + v;
  }
  return createHmac('sha1', authToken).update(data, 'utf8').digest('base64');
}

/** The URL without its `#…` fragment (Twilio's connection overrides are never sent). */
export function stripFragment(url: string): string {
  const hash = url.indexOf('#');
  return hash === -1 ? url : url.slice(0, hash);
}
