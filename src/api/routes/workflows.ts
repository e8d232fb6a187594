/** `/v1/Workspaces/{WS}/Workflows[/{WW}]` (spec §1.4 Workflow). */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { WorkflowFields, WorkflowRecord, WorkspaceEngine } from '../../engine/index.ts';
import { ctxOf, pageRequest, queryOf, workspaceOf, type Api } from '../context.ts';
import { page } from '../paging.ts';
import type { Params } from '../params.ts';
import { workflowJson } from '../serializers.ts';
import { badParameter } from '../twilio-errors.ts';
import { found, resourceRoutes } from './resource.ts';

const BASE = '/v1/Workspaces/:WorkspaceSid/Workflows';

/** The workflow named by the path parameter `param`; 20404 when there is none. */
export function workflowOf(engine: WorkspaceEngine, req: FastifyRequest, param = 'Sid'): WorkflowRecord {
  return found(req, (sid) => engine.workflows.get(sid), param);
}

function url(body: Params, name: string): string | null | undefined {
  const v = body.string(name);
  if (v === undefined) return undefined;
  if (v === '') return null;
  if (!/^https?:\/\/\S+$/i.test(v)) throw badParameter(name, `${name} must be an http or https URL (got '${v}')`);
  return v;
}

function workflowFields(body: Params): WorkflowFields {
  return {
    friendlyName: body.string('FriendlyName'),
    configuration: body.json('Configuration'),
    assignmentCallbackUrl: url(body, 'AssignmentCallbackUrl'),
    fallbackAssignmentCallbackUrl: url(body, 'FallbackAssignmentCallbackUrl'),
    taskReservationTimeoutS: body.integer('TaskReservationTimeout', 1, 86_400),
  };
}

export function workflowRoutes(app: FastifyInstance, api: Api): void {
  app.get(BASE, async (req) => {
    const engine = workspaceOf(api, req);
    const name = queryOf(req).string('FriendlyName');
    const items = [...engine.workflows.values()].filter((w) => name === undefined || w.friendlyName === name);
    const c = ctxOf(api, req, engine);
    return page(pageRequest(api, req, 'workflows'), items, (w) => w.sid, (w) => workflowJson(c, w));
  });

  resourceRoutes(app, api, {
    base: BASE,
    find: (engine, sid) => engine.workflows.get(sid),
    json: workflowJson,
    create: (body) => {
      const friendlyName = body.requiredString('FriendlyName');
      const configuration = body.requiredString('Configuration');
      return { type: 'createWorkflow', ...workflowFields(body), friendlyName, configuration };
    },
    update: (w, body) => ({ type: 'updateWorkflow', workflowSid: w.sid, ...workflowFields(body), reEvaluateTasks: body.boolean('ReEvaluateTasks') }),
    remove: (w) => ({ type: 'deleteWorkflow', workflowSid: w.sid }),
  });
}
