/** `/v1/Workspaces/{WS}/Activities[/{WA}]` (spec §1.4 Activity). */
import type { FastifyInstance } from 'fastify';
import { ctxOf, pageRequest, queryOf, workspaceOf, type Api } from '../context.ts';
import { page } from '../paging.ts';
import { activityJson } from '../serializers.ts';
import { resourceRoutes } from './resource.ts';

const BASE = '/v1/Workspaces/:WorkspaceSid/Activities';

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

  resourceRoutes(app, api, {
    base: BASE,
    find: (engine, sid) => engine.activities.get(sid),
    json: activityJson,
    create: (body) => ({ type: 'createActivity', friendlyName: body.requiredString('FriendlyName'), available: body.boolean('Available') }),
    update: (a, body) => ({ type: 'updateActivity', activitySid: a.sid, friendlyName: body.string('FriendlyName') }),
    remove: (a) => ({ type: 'deleteActivity', activitySid: a.sid }),
  });
}
