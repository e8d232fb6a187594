/**
 * `/v1/Workspaces/{WS}/Workers/{WK}/Channels[/{WC, TC or unique_name}]` (spec §1.2, §1.4
 * WorkerChannel), and `/v1/Workspaces/{WS}/WorkerChannels`: every worker's channels in one list (a
 * Switchboard extension — TaskRouter has only the per-worker list — so that a supervisor view of a
 * thousand agents reads their capacity in one request, not a thousand).
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { WorkerChannelRecord, WorkerRecord, WorkspaceEngine } from '../../engine/index.ts';
import { bodyOf, ctxOf, execute, pageRequest, pathOf, pathParam, workspaceOf, type Api } from '../context.ts';
import { page } from '../paging.ts';
import { workerChannelJson } from '../serializers.ts';
import { notFound } from '../twilio-errors.ts';
import { workerOf } from './workers.ts';

const BASE = '/v1/Workspaces/:WorkspaceSid/Workers/:WorkerSid/Channels';

/** The live (not deleted) channels of a worker. */
function liveChannels(engine: WorkspaceEngine, w: WorkerRecord): WorkerChannelRecord[] {
  return w.channels.filter((ch) => engine.channels.get(ch.taskChannelSid)?.deleted === false);
}

function channelOf(engine: WorkspaceEngine, w: WorkerRecord, req: FastifyRequest): WorkerChannelRecord {
  const ref = pathParam(req, 'Sid');
  const tc = engine.findChannel(ref);
  const ch = liveChannels(engine, w).find((c) => c.sid === ref || c.taskChannelSid === tc?.sid);
  if (ch === undefined) throw notFound(pathOf(req));
  return ch;
}

export function workerChannelRoutes(app: FastifyInstance, api: Api): void {
  // Every worker's live channels, in worker order, each in the per-worker list's shape (paged, key `channels`).
  app.get('/v1/Workspaces/:WorkspaceSid/WorkerChannels', async (req) => {
    const engine = workspaceOf(api, req);
    const c = ctxOf(api, req, engine);
    const rows = [...engine.workers.values()].sort((a, b) => a.sid.localeCompare(b.sid)).flatMap((w) => liveChannels(engine, w).map((ch) => ({ w, ch })));
    return page(pageRequest(api, req, 'channels'), rows, (r) => r.ch.sid, (r) => workerChannelJson(c, r.w, r.ch));
  });

  app.get(BASE, async (req) => {
    const engine = workspaceOf(api, req);
    const w = workerOf(engine, req, 'WorkerSid');
    const c = ctxOf(api, req, engine);
    return page(pageRequest(api, req, 'channels'), liveChannels(engine, w), (ch) => ch.sid, (ch) => workerChannelJson(c, w, ch));
  });

  app.get(`${BASE}/:Sid`, async (req) => {
    const engine = workspaceOf(api, req);
    const w = workerOf(engine, req, 'WorkerSid');
    return workerChannelJson(ctxOf(api, req, engine), w, channelOf(engine, w, req));
  });

  app.post(`${BASE}/:Sid`, async (req) => {
    const engine = workspaceOf(api, req);
    const w = workerOf(engine, req, 'WorkerSid');
    const ch = channelOf(engine, w, req);
    const body = bodyOf(req);
    const command = {
      type: 'updateWorkerChannel' as const,
      workerSid: w.sid,
      workerChannel: ch.sid,
      capacity: body.integer('Capacity', 0, 50),
      available: body.boolean('Available'),
    };
    await execute(api, req, engine, command, body);
    const after = workerOf(engine, req, 'WorkerSid');
    return workerChannelJson(ctxOf(api, req, engine), after, channelOf(engine, after, req));
  });
}
