/** `/v1/Workspaces/{WS}/TaskChannels[/{TC or unique_name}]` (spec §1.2, §1.4 TaskChannel). */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { TaskChannelRecord, WorkspaceEngine } from '../../engine/index.ts';
import { bodyOf, ctxOf, execute, pageRequest, pathOf, pathParam, workspaceOf, type Api } from '../context.ts';
import { page } from '../paging.ts';
import { taskChannelJson } from '../serializers.ts';
import { notFound } from '../twilio-errors.ts';

const BASE = '/v1/Workspaces/:WorkspaceSid/TaskChannels';

function channelOf(engine: WorkspaceEngine, req: FastifyRequest): TaskChannelRecord {
  const ch = engine.findChannel(pathParam(req, 'Sid'));
  if (ch === undefined) throw notFound(pathOf(req));
  return ch;
}

export function taskChannelRoutes(app: FastifyInstance, api: Api): void {
  app.get(BASE, async (req) => {
    const engine = workspaceOf(api, req);
    const c = ctxOf(api, req, engine);
    const items = engine.channelList.filter((ch) => !ch.deleted);
    return page(pageRequest(api, req, 'channels'), items, (ch) => ch.sid, (ch) => taskChannelJson(c, ch));
  });

  app.post(BASE, async (req, reply) => {
    const engine = workspaceOf(api, req);
    const body = bodyOf(req);
    const command = {
      type: 'createTaskChannel' as const,
      friendlyName: body.requiredString('FriendlyName'),
      uniqueName: body.requiredString('UniqueName'),
      channelOptimizedRouting: body.boolean('ChannelOptimizedRouting'),
    };
    const outcome = await execute(api, req, engine, command, body);
    return reply.code(201).send(taskChannelJson(ctxOf(api, req, engine), engine.channels.get(outcome.sid as string) as TaskChannelRecord));
  });

  app.get(`${BASE}/:Sid`, async (req) => {
    const engine = workspaceOf(api, req);
    return taskChannelJson(ctxOf(api, req, engine), channelOf(engine, req));
  });

  app.post(`${BASE}/:Sid`, async (req) => {
    const engine = workspaceOf(api, req);
    const ch = channelOf(engine, req);
    const body = bodyOf(req);
    const command = {
      type: 'updateTaskChannel' as const,
      taskChannel: ch.sid,
      friendlyName: body.string('FriendlyName'),
      channelOptimizedRouting: body.boolean('ChannelOptimizedRouting'),
    };
    await execute(api, req, engine, command, body);
    return taskChannelJson(ctxOf(api, req, engine), engine.channels.get(ch.sid) as TaskChannelRecord);
  });

  app.delete(`${BASE}/:Sid`, async (req, reply) => {
    const engine = workspaceOf(api, req);
    const ch = channelOf(engine, req);
    await execute(api, req, engine, { type: 'deleteTaskChannel', taskChannel: ch.sid });
    return reply.code(204).send();
  });
}
