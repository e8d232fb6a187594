/** `/v1/Workspaces/{WS}/Workflows[/{WW}]` (spec §1.4 Workflow). */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { WorkflowFields, WorkflowRecord, WorkspaceEngine } from '../../engine/index.ts';
import { bodyOf, ctxOf, execute, pageRequest, pathOf, pathParam, queryOf, workspaceOf, type Api } from '../context.ts';
import { page } from '../paging.ts';
import type { Params } from '../params.ts';
import { workflowJson } from '../serializers.ts';
import { badParameter, notFound } from '../twilio-errors.ts';

const BASE = '/v1/Workspaces/:WorkspaceSid/Workflows';

export function workflowOf(engine: WorkspaceEngine, req: FastifyRequest, param = 'Sid'): WorkflowRecord {
  const w = engine.workflows.get(pathParam(req, param));
  if (w === undefined) throw notFound(pathOf(req));
  return w;
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

  app.post(BASE, async (req, reply) => {
    const engine = workspaceOf(api, req);
    const body = bodyOf(req);
    const friendlyName = body.requiredString('FriendlyName');
    const configuration = body.requiredString('Configuration');
    const fields = workflowFields(body);
    const outcome = await execute(api, req, engine, { type: 'createWorkflow', ...fields, friendlyName, configuration }, body);
    return reply.code(201).send(workflowJson(ctxOf(api, req, engine), engine.workflows.get(outcome.sid as string) as WorkflowRecord));
  });

  app.get(`${BASE}/:Sid`, async (req) => {
    const engine = workspaceOf(api, req);
    return workflowJson(ctxOf(api, req, engine), workflowOf(engine, req));
  });

  app.post(`${BASE}/:Sid`, async (req) => {
    const engine = workspaceOf(api, req);
    const w = workflowOf(engine, req);
    const body = bodyOf(req);
    const command = { type: 'updateWorkflow' as const, workflowSid: w.sid, ...workflowFields(body), reEvaluateTasks: body.boolean('ReEvaluateTasks') };
    await execute(api, req, engine, command, body);
    return workflowJson(ctxOf(api, req, engine), workflowOf(engine, req));
  });

  app.delete(`${BASE}/:Sid`, async (req, reply) => {
    const engine = workspaceOf(api, req);
    const w = workflowOf(engine, req);
    await execute(api, req, engine, { type: 'deleteWorkflow', workflowSid: w.sid });
    return reply.code(204).send();
  });
}
