/** `/v1/Workspaces[/{WS}]` (spec §1.4 Workspace). */
import type { FastifyInstance } from 'fastify';
import { accountOf, bodyOf, execute, originOf, originOfRequest, pageRequest, pathOf, pathParam, queryOf, type Api } from '../context.ts';
import { page } from '../paging.ts';
import { workspaceJson } from '../serializers.ts';
import { badParameter, notFound } from '../twilio-errors.ts';
import { EVENT_TYPES, type WorkspaceEngine } from '../../engine/index.ts';
import { CALLBACK_EVENT_TYPES } from '../../callbacks/center.ts';
import type { Params } from '../params.ts';

const ORDERS = ['FIFO', 'LIFO'] as const;

function checkName(body: Params, required: boolean): string | undefined {
  const name = required ? body.requiredString('FriendlyName') : body.string('FriendlyName');
  if (name !== undefined && (name.trim() === '' || name.length > 64)) throw badParameter('FriendlyName', 'FriendlyName must be 1 to 64 characters');
  return name;
}

function checkUrl(body: Params, name: string): string | null | undefined {
  const v = body.string(name);
  if (v === undefined) return undefined;
  if (v === '') return null;
  if (!/^https?:\/\/[^\s]+$/i.test(v)) throw badParameter(name, `${name} must be an http or https URL (got '${v}')`);
  return v;
}

/** Event types an `EventsFilter` may name: the engine's and the callback service's (`callback.*`, docs/api-callbacks.md "Events"). */
const FILTERABLE_EVENT_TYPES: ReadonlySet<string> = new Set<string>([...EVENT_TYPES, ...CALLBACK_EVENT_TYPES]);

/** `EventsFilter`: a comma list of event types (engine or `callback.*`); '' means none (all events). */
function eventsFilter(body: Params): string | null | undefined {
  const v = body.string('EventsFilter');
  if (v === undefined) return undefined;
  const types = v.split(',').map((t) => t.trim()).filter((t) => t !== '');
  if (types.length === 0) return null;
  const unknown = types.filter((t) => !FILTERABLE_EVENT_TYPES.has(t));
  if (unknown.length > 0) throw badParameter('EventsFilter', `EventsFilter names unknown event types: ${unknown.join(', ')}`);
  return types.join(',');
}

export function workspaceRoutes(app: FastifyInstance, api: Api): void {
  const own = (req: Parameters<typeof accountOf>[0]): WorkspaceEngine => {
    const e = api.runtime.workspace(accountOf(req), pathParam(req, 'Sid'));
    if (e === undefined) throw notFound(pathOf(req));
    return e;
  };

  app.get('/v1/Workspaces', async (req) => {
    const q = queryOf(req);
    const name = q.string('FriendlyName');
    const items = api.runtime.workspaces(accountOf(req)).filter((e) => name === undefined || e.workspace.friendlyName === name);
    const origin = originOf(api, req);
    return page(pageRequest(api, req, 'workspaces'), items, (e) => e.workspace.sid, (e) => workspaceJson(origin, accountOf(req), e));
  });

  app.post('/v1/Workspaces', async (req, reply) => {
    const body = bodyOf(req);
    const friendlyName = checkName(body, true) as string;
    const eventCallbackUrl = checkUrl(body, 'EventCallbackUrl');
    const filter = eventsFilter(body);
    const multiTaskEnabled = body.boolean('MultiTaskEnabled');
    const template = body.oneOf('Template', ['NONE', 'FIFO'] as const);
    const prioritizeQueueOrder = body.oneOf('PrioritizeQueueOrder', ORDERS);
    const account = accountOf(req);
    const { engine } = await api.runtime.createWorkspace(account, {
      friendlyName,
      eventCallbackUrl: eventCallbackUrl ?? null,
      eventsFilter: filter ?? null,
      multiTaskEnabled: multiTaskEnabled ?? true,
      prioritizeQueueOrder: prioritizeQueueOrder ?? 'FIFO',
      template: template ?? 'NONE',
    }, originOfRequest(req));
    return reply.code(201).send(workspaceJson(originOf(api, req), account, engine));
  });

  app.get('/v1/Workspaces/:Sid', async (req) => workspaceJson(originOf(api, req), accountOf(req), own(req)));

  app.post('/v1/Workspaces/:Sid', async (req) => {
    const engine = own(req);
    const body = bodyOf(req);
    const friendlyName = checkName(body, false);
    const eventCallbackUrl = checkUrl(body, 'EventCallbackUrl');
    const filter = eventsFilter(body);
    const command = {
      type: 'updateWorkspace' as const,
      friendlyName,
      eventCallbackUrl,
      eventsFilter: filter,
      defaultActivitySid: body.sid('DefaultActivitySid', 'WA'),
      timeoutActivitySid: body.sid('TimeoutActivitySid', 'WA'),
      multiTaskEnabled: body.boolean('MultiTaskEnabled'),
      prioritizeQueueOrder: body.oneOf('PrioritizeQueueOrder', ORDERS),
    };
    await execute(api, req, engine, command, body);
    return workspaceJson(originOf(api, req), accountOf(req), engine);
  });

  app.delete('/v1/Workspaces/:Sid', async (req, reply) => {
    own(req);
    await api.runtime.deleteWorkspace(accountOf(req), pathParam(req, 'Sid'));
    return reply.code(204).send();
  });
}
