/** `/v1/Workspaces/{WS}/TaskChannels[/{TC or unique_name}]` (spec §1.2, §1.4 TaskChannel). */
import type { FastifyInstance } from 'fastify';
import { ctxOf, pageRequest, workspaceOf, type Api } from '../context.ts';
import { page } from '../paging.ts';
import { taskChannelJson } from '../serializers.ts';
import { resourceRoutes } from './resource.ts';

const BASE = '/v1/Workspaces/:WorkspaceSid/TaskChannels';

export function taskChannelRoutes(app: FastifyInstance, api: Api): void {
  app.get(BASE, async (req) => {
    const engine = workspaceOf(api, req);
    const c = ctxOf(api, req, engine);
    const items = engine.channelList.filter((ch) => !ch.deleted);
    return page(pageRequest(api, req, 'channels'), items, (ch) => ch.sid, (ch) => taskChannelJson(c, ch));
  });

  resourceRoutes(app, api, {
    base: BASE,
    // A task channel is named by its SID or its unique name.
    find: (engine, ref) => engine.findChannel(ref),
    json: taskChannelJson,
    create: (body) => ({
      type: 'createTaskChannel',
      friendlyName: body.requiredString('FriendlyName'),
      uniqueName: body.requiredString('UniqueName'),
      channelOptimizedRouting: body.boolean('ChannelOptimizedRouting'),
    }),
    update: (ch, body) => ({
      type: 'updateTaskChannel',
      taskChannel: ch.sid,
      friendlyName: body.string('FriendlyName'),
      channelOptimizedRouting: body.boolean('ChannelOptimizedRouting'),
    }),
    remove: (ch) => ({ type: 'deleteTaskChannel', taskChannel: ch.sid }),
  });
}
