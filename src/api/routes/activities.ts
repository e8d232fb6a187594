/** `/v1/Workspaces/{WS}/Activities[/{WA}]` (spec §1.4 Activity). */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ActivityRecord, WorkspaceEngine } from '../../engine/index.ts';
import { bodyOf, ctxOf, execute, pageRequest, pathOf, pathParam, queryOf, workspaceOf, type Api } from '../context.ts';
import { page } from '../paging.ts';
import { activityJson } from '../serializers.ts';
import { notFound } from '../twilio-errors.ts';

const BASE = '/v1/Workspaces/:WorkspaceSid/Activities';

function activityOf(engine: WorkspaceEngine, req: FastifyRequest): ActivityRecord {
  const a = engine.activities.get(pathParam(req, 'Sid'));
  if (a === undefined) throw notFound(pathOf(req));
  return a;
}

export function activityRoutes(app: FastifyInstance, api: Api): void {
  app.get(BASE, async (req) => {
    const engine = workspaceOf(api, req);
    const q = queryOf(req);
    const name = q.string('FriendlyName');
    const available = q.boolean('Available');
    const items = [...engine.activities.values()].filter(
      (a) => (name === undefined || a.friendlyName === name) && (available === undefined || a.available === available),
    );
    const c = ctxOf(api, req, engine);
    return page(pageRequest(api, req, 'activities'), items, (a) => a.sid, (a) => activityJson(c, a));
  });

  app.post(BASE, async (req, reply) => {
    const engine = workspaceOf(api, req);
    const body = bodyOf(req);
    const outcome = await execute(
      api,
      req,
      engine,
      { type: 'createActivity', friendlyName: body.requiredString('FriendlyName'), available: body.boolean('Available') },
      body,
    );
    const a = engine.activities.get(outcome.sid as string) as ActivityRecord;
    return reply.code(201).send(activityJson(ctxOf(api, req, engine), a));
  });

  app.get(`${BASE}/:Sid`, async (req) => {
    const engine = workspaceOf(api, req);
    return activityJson(ctxOf(api, req, engine), activityOf(engine, req));
  });

  app.post(`${BASE}/:Sid`, async (req) => {
    const engine = workspaceOf(api, req);
    const a = activityOf(engine, req);
    const body = bodyOf(req);
    await execute(api, req, engine, { type: 'updateActivity', activitySid: a.sid, friendlyName: body.string('FriendlyName') }, body);
    return activityJson(ctxOf(api, req, engine), activityOf(engine, req));
  });

  app.delete(`${BASE}/:Sid`, async (req, reply) => {
    const engine = workspaceOf(api, req);
    const a = activityOf(engine, req);
    await execute(api, req, engine, { type: 'deleteActivity', activitySid: a.sid });
    return reply.code(204).send();
  });
}
