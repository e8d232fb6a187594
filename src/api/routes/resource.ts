/**
 * What the routing resources (Activities, TaskChannels, TaskQueues, Workflows, Workers, Tasks)
 * have in common: look a record up from a path parameter (20404 when it is not there), and the
 * create, fetch, update and delete endpoints, which differ only in the command they build.
 *
 * Behaviour (spec §1.4, §2): create answers 201 with the new record; fetch and update answer 200
 * with the record as it is after the command; delete answers 204 with no body. Resources with a
 * version (Workers, Tasks) send it as a quoted `ETag` on create, fetch and update, for If-Match.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { WorkspaceEngine } from '../../engine/index.ts';
import type { UntimedCommand } from '../../runtime/runtime.ts';
import { bodyOf, ctxOf, execute, pathOf, pathParam, workspaceOf, type Api } from '../context.ts';
import type { Params } from '../params.ts';
import type { Ctx } from '../serializers.ts';
import { notFound } from '../twilio-errors.ts';

/**
 * The record that `find` returns for the path parameter `param` (a SID, normalized; or whatever
 * else `find` accepts, such as a task channel's unique name). Throws the 20404 ApiError for the
 * request's path when there is none.
 */
export function found<R>(req: FastifyRequest, find: (ref: string) => R | undefined, param = 'Sid'): R {
  const record = find(pathParam(req, param));
  if (record === undefined) throw notFound(pathOf(req));
  return record;
}

/** A record version as an HTTP entity tag: 3 → `"3"`. */
export function etag(version: number): string {
  return `"${version}"`;
}

/** How one resource maps onto the engine. */
export interface ResourceSpec<R extends { sid: string }> {
  /** The list path, e.g. `/v1/Workspaces/:WorkspaceSid/Activities`; an instance is `${base}/:Sid`. */
  base: string;
  /** The record for a reference from the path (its SID, or another key the resource accepts). */
  find: (engine: WorkspaceEngine, ref: string) => R | undefined;
  /** The response body. */
  json: (c: Ctx, record: R) => Record<string, unknown>;
  /** The record's version, for resources that send an ETag (spec §2 If-Match). */
  version?: (record: R) => number;
  /** The create command from the form body; throws ApiError on bad input, before anything runs. */
  create: (body: Params, req: FastifyRequest) => UntimedCommand;
  /** The update command for `record` from the form body. */
  update: (record: R, body: Params, req: FastifyRequest) => UntimedCommand;
  /** The delete command for `record`. */
  remove: (record: R, req: FastifyRequest) => UntimedCommand;
}

/**
 * Registers `POST base` (create), and `GET`, `POST` (update) and `DELETE` on `base/:Sid`. The list
 * (`GET base`) is each resource's own: its filters differ.
 */
export function resourceRoutes<R extends { sid: string }>(app: FastifyInstance, api: Api, spec: ResourceSpec<R>): void {
  const instance = `${spec.base}/:Sid`;
  const of = (engine: WorkspaceEngine, req: FastifyRequest): R => found(req, (ref) => spec.find(engine, ref));
  const headers = (record: R): Record<string, string> => (spec.version === undefined ? {} : { ETag: etag(spec.version(record)) });

  app.post(spec.base, async (req, reply) => {
    const engine = workspaceOf(api, req);
    const body = bodyOf(req);
    const outcome = await execute(api, req, engine, spec.create(body, req), body);
    const record = spec.find(engine, outcome.sid as string) as R;
    return reply.code(201).headers(headers(record)).send(spec.json(ctxOf(api, req, engine), record));
  });

  app.get(instance, async (req, reply) => {
    const engine = workspaceOf(api, req);
    const record = of(engine, req);
    return reply.headers(headers(record)).send(spec.json(ctxOf(api, req, engine), record));
  });

  app.post(instance, async (req, reply) => {
    const engine = workspaceOf(api, req);
    const record = of(engine, req);
    const body = bodyOf(req);
    await execute(api, req, engine, spec.update(record, body, req), body);
    const after = spec.find(engine, record.sid) as R;
    return reply.headers(headers(after)).send(spec.json(ctxOf(api, req, engine), after));
  });

  app.delete(instance, async (req, reply) => {
    const engine = workspaceOf(api, req);
    const record = of(engine, req);
    await execute(api, req, engine, spec.remove(record, req));
    return reply.code(204).send();
  });
}
