/**
 * `/v1/Workspaces/{WS}/Tasks/{WT}/Reservations[/{WR}]` and `…/Workers/{WK}/Reservations[/{WR}]`
 * (spec §1.4 Reservation, §6): list, fetch, and update with `ReservationStatus`
 * accepted/rejected/wrapping/completed (+`WorkerActivitySid` on reject), `Instruction` (accept,
 * reject, and dequeue/call/redirect/conference — checked and recorded, no call placed) and `If-Match`.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ReservationRecord, WorkspaceEngine } from '../../engine/index.ts';
import { accountOf, bodyOf, ctxOf, execute, originOfRequest, pageRequest, pathOf, pathParam, queryOf, workspaceOf, type Api } from '../context.ts';
import { page } from '../paging.ts';
import { ifMatch, type Params } from '../params.ts';
import { reservationJson } from '../serializers.ts';
import { ApiError, badParameter, notFound } from '../twilio-errors.ts';
import { checkInstruction, isInstructionError, type CheckedInstruction, isTelephonyInstruction, reservationContext, REST_PARAMETERS, TELEPHONY_INSTRUCTIONS, type TelephonyInstruction } from '../../runtime/instructions.ts';
import type { EventOrigin } from '../../runtime/outbox.ts';
import { taskOf } from './tasks.ts';
import { etag } from './resource.ts';
import { workerOf } from './workers.ts';

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

/** A reservation's ETag is its task's version: If-Match on a reservation update checks the task. */
function taskVersion(engine: WorkspaceEngine, r: ReservationRecord): number {
  return engine.tasks.get(r.taskSid)?.version ?? 0;
}

/**
 * `Instruction=dequeue|call|redirect|conference` on a Reservation update (spec §8; OpenAPI
 * UpdateTaskReservation): reads the instruction's own parameters (`DequeueFrom`, `CallUrl`,
 * `RedirectCallSid`, `To`, `Beep`, …), checks them like an assignment callback reply, and returns
 * what to record when the instruction accepts the reservation, or undefined when it does not
 * (call/redirect without accept=true). Throws 400/20001 naming the REST parameter at fault, or
 * 410/20410 when the reservation is no longer pending.
 */
function telephonyInstruction(engine: WorkspaceEngine, r: ReservationRecord, name: TelephonyInstruction, body: Params, status: string | undefined): CheckedInstruction {
  if (status !== undefined) throw badParameter('Instruction', `Instruction '${name}' cannot be combined with ReservationStatus`);
  if (r.reservationStatus !== 'pending') throw new ApiError(410, 20410, `Reservation ${r.sid} is ${r.reservationStatus}, not pending: instruction '${name}' cannot be applied`, 'Instruction');
  const names = REST_PARAMETERS[name];
  const raw: Record<string, unknown> = {};
  for (const [restName, field] of Object.entries(names)) {
    const values = body.all(restName);
    if (values.length > 0) raw[field] = values.length === 1 ? values[0] : values;
  }
  const checked = checkInstruction(name, raw, reservationContext(engine, r));
  if (isInstructionError(checked)) {
    const restName = Object.entries(names).find(([, f]) => f === checked.field)?.[0] ?? checked.field;
    throw badParameter(restName, `${restName} is invalid — ${checked.message}`);
  }
  return checked;
}

export function reservationRoutes(app: FastifyInstance, api: Api): void {
  for (const via of ['task', 'worker'] as const) {
    const base = via === 'task' ? '/v1/Workspaces/:WorkspaceSid/Tasks/:TaskSid/Reservations' : '/v1/Workspaces/:WorkspaceSid/Workers/:WorkerSid/Reservations';
    /** The reservation as the body, its task's version as the ETag. */
    const send = (req: FastifyRequest, reply: FastifyReply, engine: WorkspaceEngine, r: ReservationRecord): FastifyReply =>
      reply.header('ETag', etag(taskVersion(engine, r))).send(reservationJson(ctxOf(api, req, engine), r, via));

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
      return send(req, reply, engine, reservationOf(engine, req, via));
    });

    app.post(`${base}/:Sid`, async (req, reply) => {
      const engine = workspaceOf(api, req);
      const r = reservationOf(engine, req, via);
      const body = bodyOf(req);
      let status = body.oneOf('ReservationStatus', SETTABLE);
      const workerActivitySid = body.sid('WorkerActivitySid', 'WA');
      const version = ifMatch(req.headers['if-match']);
      const instruction = body.string('Instruction');
      let recorded: EventOrigin['instruction'];
      if (instruction !== undefined) {
        const name = instruction.toLowerCase();
        const asStatus = INSTRUCTIONS[name];
        if (asStatus !== undefined) {
          if (status !== undefined && status !== asStatus) throw badParameter('Instruction', `Instruction '${instruction}' contradicts ReservationStatus=${status}`);
          status = asStatus;
        } else if (isTelephonyInstruction(name)) {
          const checked = telephonyInstruction(engine, r, name, body, status);
          if (api.runtime.voice.port !== null) {
            // A telephone network is attached: the voice core places the worker's leg; dequeue and
            // conference accept once it is bridged (src/callflows/bridges.ts).
            const refused = await api.runtime.voice.instruct(accountOf(req), engine.workspace.sid, r.sid, checked, originOfRequest(req).actor);
            if (refused !== null) throw new ApiError(400, refused.alert, refused.message, 'Instruction');
            return send(req, reply, engine, engine.reservations.get(r.sid) ?? r);
          }
          recorded = checked.accepts ? { instruction: checked.instruction, parameters: checked.parameters } : undefined;
          if (recorded === undefined) {
            // call/redirect without accept: checked and logged; the reservation stays pending (spec §8).
            req.log.info({ reservationSid: r.sid, instruction: name }, 'instruction checked; it does not accept the reservation and no call is placed');
            return send(req, reply, engine, r);
          }
          status = 'accepted';
        } else {
          throw badParameter('Instruction', `Instruction '${instruction}' is not one of accept, reject, ${TELEPHONY_INSTRUCTIONS.join(', ')}`);
        }
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
        await execute(api, req, engine, command, body, recorded === undefined ? undefined : { instruction: recorded });
      } else if (workerActivitySid !== undefined) {
        throw badParameter('WorkerActivitySid', 'WorkerActivitySid needs ReservationStatus=rejected');
      }
      return send(req, reply, engine, engine.reservations.get(r.sid) ?? r);
    });
  }
}
