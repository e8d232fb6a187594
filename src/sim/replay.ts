/**
 * Shadow replay: drives the real engine with what really happened in a call log, in virtual
 * time (DESIGN.md "Replay and simulation"). Automatic matching is off: each call waits as a
 * pending task and is offered, at the moment it was really answered, to the agent who really
 * answered it; abandoned calls are canceled when the caller hung up. The engine then holds the
 * state a live deployment would have held, so its events and statistics can be checked against
 * the log and wait-time predictors can be scored against the real waits.
 *
 * Mapping (docs/replay.md explains every choice):
 * - one task queue per call type (`types HAS "<type>"`) and one workflow filter per type;
 * - one worker per agent name, with the types they served; NO_SERVER calls go to one extra
 *   worker, "Unidentified agent", who may serve every type;
 * - a call becomes a task when it asked for an agent (`q_start`, or `ser_start` for a call
 *   served without queueing, or `vru_exit` for a hang-up that never queued), with attributes
 *   `type`, `priority`, `customer_id`, `call_key`; its virtual start time is its VRU entry;
 * - answered at `asked + q_time`, completed `ser_time` seconds later; abandoned ones canceled
 *   with reason `hangup` at `asked + q_time`; PHANTOM calls are skipped;
 * - agents log in (Available) at the start of each working stretch — services no more than
 *   {@link STRETCH_GAP_MS} apart — and out (Offline) when its last service ends.
 */
import { WorkspaceEngine, type Command, type EngineEvent } from '../engine/index.ts';
import { SequentialSids } from '../util/sid.ts';
import type { CallRecord } from './anonymous-bank.ts';

/** A gap between two services longer than this ends an agent's working stretch. */
export const STRETCH_GAP_MS = 30 * 60_000;
/** The worker that takes calls answered by NO_SERVER. */
export const UNIDENTIFIED_AGENT = 'Unidentified agent';

/** What the call types of the Anonymous Bank log mean (shared/data/README.md). */
export const CALL_TYPE_NAMES: Record<string, string> = {
  PS: 'Regular service',
  PE: 'Regular service in English',
  IN: 'Internet support',
  NE: 'Stock exchange',
  NW: 'Prospective customers',
  TT: 'Callback requests',
};

export interface ReplayOptions {
  /** First and last day to replay (YYYY-MM-DD, inclusive, the log's `date`). */
  from?: string;
  to?: string;
  /** Called with every event, in order. */
  onEvent?: (event: EngineEvent) => void;
  /** Called right after a call's task was created: the moment to predict its wait. */
  onTaskCreated?: (call: CallRecord, taskSid: string, engine: WorkspaceEngine) => void;
  /** Progress: actions done of total. */
  onProgress?: (done: number, total: number) => void;
}

export interface ReplaySummary {
  engine: WorkspaceEngine;
  /** Calls replayed as tasks (phantoms and calls outside the date range excluded). */
  calls: CallRecord[];
  phantomsSkipped: number;
  outsideRange: number;
  /** Call key → task SID. */
  taskOf: Map<string, string>;
  agents: number;
  stretches: number;
  commands: number;
  events: number;
}

type Action =
  | { at: number; order: number; kind: 'login' | 'logout'; worker: string }
  | { at: number; order: number; kind: 'complete' | 'create' | 'answer' | 'hangup'; call: CallRecord };

/**
 * Order of actions at the same instant: logins, completions (freeing agents), new calls,
 * answers, completions of zero-second services (after their own answer), hang-ups, logouts.
 */
const ORDER = { login: 0, complete: 1, create: 2, answer: 3, completeInstant: 4, hangup: 5, logout: 6 } as const;

/** Replays calls through a new workspace. Throws if the engine refuses a command (a bug). */
export function replayCalls(all: readonly CallRecord[], options: ReplayOptions = {}): ReplaySummary {
  const phantoms = all.filter((c) => c.outcome === 'PHANTOM').length;
  const inRange = all.filter((c) => (options.from === undefined || c.date >= options.from) && (options.to === undefined || c.date <= options.to));
  const calls = inRange.filter((c) => c.outcome !== 'PHANTOM').sort((a, b) => a.askedAt - b.askedAt || a.line - b.line);
  const outsideRange = all.length - inRange.length;
  const first = calls[0];
  const start = first === undefined ? 0 : Math.min(...calls.slice(0, 1).map((c) => c.vruEntryAt)) - 3_600_000;
  const { engine } = WorkspaceEngine.create({ friendlyName: 'Call-log replay', at: start, newSid: new SequentialSids(1).next, automaticRouting: false });
  let commands = 0;
  let events = 0;
  const run = (command: Command): string | null => {
    const out = engine.execute(command);
    commands += 1;
    events += out.events.length;
    if (options.onEvent !== undefined) for (const e of out.events) options.onEvent(e);
    if (out.rejection !== null) throw new Error(`replay: ${command.type} was refused: ${out.rejection.message}`);
    return out.sid;
  };
  const activity = (name: string): string => [...engine.activities.values()].find((a) => a.friendlyName === name)?.sid as string;
  const available = activity('Available');
  const offline = activity('Offline');

  // Queues and workflow: one per call type.
  const types = [...new Set(calls.map((c) => c.type))].sort();
  const queueOf = new Map<string, string>();
  for (const type of types) {
    const name = CALL_TYPE_NAMES[type] === undefined ? type : `${type} ${CALL_TYPE_NAMES[type]}`;
    queueOf.set(type, run({ type: 'createTaskQueue', at: start, friendlyName: name, targetWorkers: `types HAS "${type}"` }) as string);
  }
  const filters = types.map((type) => ({ filter_friendly_name: type, expression: `type == "${type}"`, targets: [{ queue: queueOf.get(type) }] }));
  run({ type: 'createWorkflow', at: start, friendlyName: 'By call type', configuration: JSON.stringify({ task_routing: { filters } }) });

  // Workers: one per agent, with the types they served.
  const servedTypes = new Map<string, Set<string>>();
  for (const c of calls) {
    if (c.outcome !== 'AGENT') continue;
    const name = c.server ?? UNIDENTIFIED_AGENT;
    let set = servedTypes.get(name);
    if (set === undefined) servedTypes.set(name, (set = new Set()));
    set.add(c.type);
  }
  if (servedTypes.has(UNIDENTIFIED_AGENT)) servedTypes.set(UNIDENTIFIED_AGENT, new Set(types));
  const workerOf = new Map<string, string>();
  for (const name of [...servedTypes.keys()].sort()) {
    const attributes = JSON.stringify({ types: [...(servedTypes.get(name) as Set<string>)].sort() });
    workerOf.set(name, run({ type: 'createWorker', at: start, friendlyName: name, attributes, activitySid: offline }) as string);
  }

  // The timeline.
  const actions: Action[] = [];
  const services = new Map<string, [number, number][]>();
  for (const c of calls) {
    const endOfWait = c.askedAt + c.waitS * 1000;
    actions.push({ at: c.askedAt, order: ORDER.create, kind: 'create', call: c });
    if (c.outcome === 'AGENT') {
      actions.push({ at: endOfWait, order: ORDER.answer, kind: 'answer', call: c });
      const order = c.serviceS === 0 ? ORDER.completeInstant : ORDER.complete;
      actions.push({ at: endOfWait + c.serviceS * 1000, order, kind: 'complete', call: c });
      const name = c.server ?? UNIDENTIFIED_AGENT;
      let list = services.get(name);
      if (list === undefined) services.set(name, (list = []));
      list.push([endOfWait, endOfWait + c.serviceS * 1000]);
    } else {
      actions.push({ at: endOfWait, order: ORDER.hangup, kind: 'hangup', call: c });
    }
  }
  let stretches = 0;
  for (const [name, list] of services) {
    list.sort((a, b) => a[0] - b[0]);
    const worker = workerOf.get(name) as string;
    let stretchStart = (list[0] as [number, number])[0];
    let stretchEnd = (list[0] as [number, number])[1];
    const close = (): void => {
      actions.push({ at: stretchStart, order: ORDER.login, kind: 'login', worker });
      actions.push({ at: stretchEnd, order: ORDER.logout, kind: 'logout', worker });
      stretches += 1;
    };
    for (const [s, e] of list.slice(1)) {
      if (s - stretchEnd > STRETCH_GAP_MS) {
        close();
        stretchStart = s;
        stretchEnd = e;
      } else {
        stretchEnd = Math.max(stretchEnd, e);
      }
    }
    close();
  }
  actions.sort((a, b) => a.at - b.at || a.order - b.order);

  const taskOf = new Map<string, string>();
  const total = actions.length;
  const progressEvery = Math.max(1, Math.floor(total / 200));
  for (let i = 0; i < total; i++) {
    const a = actions[i] as Action;
    switch (a.kind) {
      case 'login':
      case 'logout':
        run({ type: 'updateWorker', at: a.at, workerSid: a.worker, activitySid: a.kind === 'login' ? available : offline });
        break;
      case 'create': {
        const c = a.call;
        const attributes = JSON.stringify({ type: c.type, priority: c.priority, customer_id: c.customerId, call_key: c.key });
        const sid = run({
          type: 'createTask',
          at: a.at,
          attributes,
          priority: c.priority,
          taskChannel: 'voice',
          virtualStartTime: Math.min(c.vruEntryAt, c.askedAt),
        }) as string;
        taskOf.set(c.key, sid);
        options.onTaskCreated?.(c, sid, engine);
        break;
      }
      case 'answer': {
        const taskSid = taskOf.get(a.call.key) as string;
        const worker = workerOf.get(a.call.server ?? UNIDENTIFIED_AGENT) as string;
        const reservationSid = run({ type: 'offerTask', at: a.at, taskSid, workerSid: worker }) as string;
        run({ type: 'updateReservation', at: a.at, reservationSid, reservationStatus: 'accepted' });
        break;
      }
      case 'complete':
        run({ type: 'updateTask', at: a.at, taskSid: taskOf.get(a.call.key) as string, assignmentStatus: 'completed' });
        break;
      case 'hangup':
        run({ type: 'updateTask', at: a.at, taskSid: taskOf.get(a.call.key) as string, assignmentStatus: 'canceled', reason: 'hangup' });
        break;
    }
    if (options.onProgress !== undefined && (i % progressEvery === 0 || i === total - 1)) options.onProgress(i + 1, total);
  }
  return { engine, calls, phantomsSkipped: phantoms, outsideRange, taskOf, agents: workerOf.size, stretches, commands, events };
}
