/**
 * `/v1/Workspaces/{WS}/Tasks/{WT}/Reservations[/{WR}]` and `…/Workers/{WK}/Reservations[/{WR}]`
 * (spec §1.4 Reservation, §6): list, fetch, and update with `ReservationStatus`
 * accepted/rejected/wrapping/completed (+`WorkerActivitySid` on reject) and `If-Match`.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ReservationRecord, WorkspaceEngine } from '../../engine/index.ts';
import { bodyOf, ctxOf, execute, pageRequest, pathOf, pathParam, queryOf, workspaceOf, type Api } from '../context.ts';
import { page } from '../paging.ts';
import { ifMatch, type Params } from '../params.ts';
import { reservationJson } from '../serializers.ts';
import { badParameter, notFound } from '../twilio-errors.ts';
import { taskOf } from './tasks.ts';
import { etag, workerOf } from './workers.ts';

const SETTABLE = ['accepted', 'rejected', 'wrapping', 'completed'] as const;

const INSTRUCTIONS: Record<string, 'accepted' | 'rejected'> = { accept: 'accepted', reject: 'rejected' };

type Via = 'task' | 'worker';

/** An unknown status matches nothing (spec §2: unknown filter values give an empty list). */
function statusFilter(q: Params): string | undefined {
  return q.string('ReservationStatus');
}

/** The reservation in the path, which must belong to the task or worker in the path. */
function reservationOf(engine: WorkspaceEngine, req: FastifyRequest, via: Via): ReservationRecord {
  const r = engine.reservations.get(pathParam(req, 'Sid'));
  const owner = via === 'task' ? r?.taskSid : r?.workerSid;
  if (r === undefined || owner !== pathParam(req, via === 'task' ? 'TaskSid' : 'WorkerSid')) throw notFound(pathOf(req));
  return r;
}

function taskVersion(engine: WorkspaceEngine, r: ReservationRecord): number {
  return engine.tasks.get(r.taskSid)?.version ?? 0;
}

export function reservationRoutes(app: FastifyInstance, api: Api): void {
  for (const via of ['task', 'worker'] as const) {
    const base = via === 'task' ? '/v1/Workspaces/:WorkspaceSid/Tasks/:TaskSid/Reservations' : '/v1/Workspaces/:WorkspaceSid/Workers/:WorkerSid/Reservations';

    app.get(base, async (req) => {
      const engine = workspaceOf(api, req);
      const q = queryOf(req);
      const status = statusFilter(q);
      let items: ReservationRecord[];
      if (via === 'task') {
        const t = taskOf(engine, req, 'TaskSid');
        const workerSid = q.string('WorkerSid');
        items = t.reservationSids
          .map((sid) => engine.reservations.get(sid))
          .filter((r): r is ReservationRecord => r !== undefined && (workerSid === undefined || r.workerSid === workerSid));
      } else {
        const w = workerOf(engine, req, 'WorkerSid');
        items = [...engine.reservations.values()].filter((r) => r.workerSid === w.sid);
      }
      items = items.filter((r) => status === undefined || r.reservationStatus === status);
      const c = ctxOf(api, req, engine);
      return page(pageRequest(api, req, 'reservations'), items, (r) => r.sid, (r) => reservationJson(c, r, via));
    });

    app.get(`${base}/:Sid`, async (req, reply) => {
      const engine = workspaceOf(api, req);
      const r = reservationOf(engine, req, via);
      return reply.header('ETag', etag(taskVersion(engine, r))).send(reservationJson(ctxOf(api, req, engine), r, via));
    });

    app.post(`${base}/:Sid`, async (req, reply) => {
      const engine = workspaceOf(api, req);
      const r = reservationOf(engine, req, via);
      const body = bodyOf(req);
      let status = body.oneOf('ReservationStatus', SETTABLE);
      const workerActivitySid = body.sid('WorkerActivitySid', 'WA');
      const version = ifMatch(req.headers['if-match']);
      const instruction = body.string('Instruction');
      if (instruction !== undefined) {
        // accept/reject are plain status changes; call, dequeue, redirect and conference need a telephony adapter.
        const asStatus = INSTRUCTIONS[instruction.toLowerCase()];
        if (asStatus === undefined) throw badParameter('Instruction', `Instruction '${instruction}' is not supported (only accept and reject; no telephony adapter is configured)`);
        if (status !== undefined && status !== asStatus) throw badParameter('Instruction', `Instruction '${instruction}' contradicts ReservationStatus=${status}`);
        status = asStatus;
      }
      if (status !== undefined) {
        const command = {
          type: 'updateReservation' as const,
          reservationSid: r.sid,
          taskSid: via === 'task' ? r.taskSid : undefined,
          workerSid: via === 'worker' ? r.workerSid : undefined,
          reservationStatus: status,
          workerActivitySid,
          ifMatch: version,
        };
        await execute(api, engine, command, body);
      } else if (workerActivitySid !== undefined) {
        throw badParameter('WorkerActivitySid', 'WorkerActivitySid needs ReservationStatus=rejected');
      }
      const after = engine.reservations.get(r.sid) ?? r;
      return reply.header('ETag', etag(taskVersion(engine, after))).send(reservationJson(ctxOf(api, req, engine), after, via));
    });
  }
}
