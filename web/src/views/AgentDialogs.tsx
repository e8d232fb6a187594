/**
 * The agent desktop's dialogs (issue 15 gaps; spec voice-worker-sdk-console.md §E1): the transfer
 * directory (queues and colleagues, WARM or COLD, `task.transfer`), the outgoing transfer's status
 * with its Cancel, and the dial pad of an outbound call (Flex's StartOutboundTask,
 * `worker.createTask`). Both dialogs are native modal `<dialog>`s: the browser keeps focus inside,
 * Escape closes them, and focus goes back to the button that opened them.
 *
 * Reads with the agent's own access token: `Workers`, `TaskQueues`, `Workflows` and `PhoneNumbers`
 * are what a worker token may read of the directory (docs/worker-sdk.md, "The directory of a worker
 * token").
 */
import { useCallback, useEffect, useRef, useState, type FormEvent, type KeyboardEvent, type ReactNode } from 'react';
import type { OutgoingTransfer, Task, Worker } from 'twilio-taskrouter';
import type { Api, PhoneNumber, TaskQueue, Worker as WorkerJson, Workflow } from '../api.ts';

type Act = (what: string, op: () => Promise<unknown>) => void;

/**
 * A modal dialog labelled by the element `labelledBy`: opened with `showModal()` when mounted
 * (focus moves to its first control, or the one with `autoFocus`), `onClose` when the browser
 * closes it (Escape) or the view does; focus returns to what had it before.
 */
export function Modal({ labelledBy, onClose, className, children }: { labelledBy: string; onClose: () => void; className?: string; children: ReactNode }) {
  const ref = useRef<HTMLDialogElement>(null);
  useEffect(() => {
    const opener = document.activeElement instanceof HTMLElement ? document.activeElement : null;
    const d = ref.current;
    if (d !== null && !d.open) d.showModal();
    return () => {
      if (d?.open === true) d.close();
      opener?.focus();
    };
  }, []);
  return (
    <dialog ref={ref} className={className === undefined ? 'modal' : `modal ${className}`} aria-labelledby={labelledBy} onClose={onClose}>
      {children}
    </dialog>
  );
}

/**
 * The workspace's workers as a worker token may list them (`GET Workers`), and `reload` to fetch
 * them again (the transfer dialog does on opening, for current activities). Empty until loaded or
 * when refused.
 */
export function useDirectory(api: Api, workspaceSid: string): { workers: WorkerJson[]; reload: () => void } {
  const [workers, setWorkers] = useState<WorkerJson[]>([]);
  const [tick, setTick] = useState(0);
  useEffect(() => {
    let live = true;
    api.list<WorkerJson>(`/v1/Workspaces/${workspaceSid}/Workers`).then((w) => live && setWorkers(w), () => undefined);
    return () => {
      live = false;
    };
  }, [api, workspaceSid, tick]);
  const reload = useCallback(() => setTick((t) => t + 1), []);
  return { workers, reload };
}

/** One entry of the transfer directory: a queue or a colleague. */
interface Target {
  sid: string;
  name: string;
  kind: 'queue' | 'agent';
  /** A colleague's activity name (agents only). */
  activity?: string;
  available?: boolean;
}

/**
 * The directory a transfer picks from: the workspace's queues, then the colleagues (never oneself),
 * available ones first, each group by name. `query` keeps those whose name (or, for an agent, the
 * activity) contains it, ignoring case.
 */
export function transferTargets(queues: TaskQueue[], workers: WorkerJson[], selfSid: string, query: string): { queues: Target[]; agents: Target[] } {
  const q = query.trim().toLowerCase();
  const match = (t: Target): boolean => q === '' || t.name.toLowerCase().includes(q) || (t.activity ?? '').toLowerCase().includes(q);
  const byName = (a: Target, b: Target): number => a.name.localeCompare(b.name);
  return {
    queues: queues.map((x): Target => ({ sid: x.sid, name: x.friendly_name, kind: 'queue' })).filter(match).sort(byName),
    agents: workers
      .filter((w) => w.sid !== selfSid)
      .map((w): Target => ({ sid: w.sid, name: w.friendly_name, kind: 'agent', activity: w.activity_name, available: w.available }))
      .filter(match)
      .sort((a, b) => Number(b.available) - Number(a.available) || byName(a, b)),
  };
}

/**
 * The transfer dialog: search, pick a queue or a colleague, WARM (the agent stays with the
 * customer until they leave) or COLD (the agent's task wraps up once the target accepts), Transfer →
 * `task.transfer(sid, {mode})`. `onStarted` is told once the SDK answered (the status is then the
 * outgoing transfer's, {@link TransferStatus}).
 */
export function TransferDialog({ task, worker, api, workspaceSid, directory, act, onClose }: { task: Task; worker: Worker; api: Api; workspaceSid: string; directory: { workers: WorkerJson[]; reload: () => void }; act: Act; onClose: () => void }) {
  const [queues, setQueues] = useState<TaskQueue[]>([]);
  const [query, setQuery] = useState('');
  const [target, setTarget] = useState('');
  const [mode, setMode] = useState<'WARM' | 'COLD'>('COLD');
  const reload = directory.reload;
  useEffect(() => {
    api.list<TaskQueue>(`/v1/Workspaces/${workspaceSid}/TaskQueues`).then(setQueues, () => setQueues([]));
    reload();
  }, [api, workspaceSid, reload]);
  const { queues: qs, agents } = transferTargets(queues, directory.workers, worker.sid, query);
  const chosen = [...qs, ...agents].find((t) => t.sid === target);
  const submit = (e: FormEvent): void => {
    e.preventDefault();
    if (chosen === undefined) return;
    act(`Transferring to ${chosen.name}`, () => task.transfer(chosen.sid, { mode }));
    onClose();
  };
  const option = (t: Target): ReactNode => (
    <li key={t.sid}>
      <label className="target">
        <input type="radio" name="transfer-target" value={t.sid} checked={target === t.sid} onChange={() => setTarget(t.sid)} />
        <span className="grow">{t.name}</span>
        {t.kind === 'agent' && <span className={t.available === true ? 'chip ok' : 'chip'}>{t.activity}</span>}
      </label>
    </li>
  );
  return (
    <Modal labelledBy="transfer-title" onClose={onClose}>
      <form onSubmit={submit} className="transfer">
        <h2 id="transfer-title">Transfer</h2>
        <label>
          Search queues and agents
          <input type="search" value={query} onChange={(e) => setQuery(e.target.value)} autoFocus autoComplete="off" />
        </label>
        <div className="directory">
          <fieldset>
            <legend>Queues</legend>
            {qs.length === 0 ? <p className="muted">No queue matches.</p> : <ul>{qs.map(option)}</ul>}
          </fieldset>
          <fieldset>
            <legend>Agents</legend>
            {agents.length === 0 ? <p className="muted">No agent matches.</p> : <ul>{agents.map(option)}</ul>}
          </fieldset>
        </div>
        <fieldset className="modes">
          <legend>Mode</legend>
          <label className="inline"><input type="radio" name="transfer-mode" checked={mode === 'COLD'} onChange={() => setMode('COLD')} /> Cold: hand over, then wrap up</label>
          <label className="inline"><input type="radio" name="transfer-mode" checked={mode === 'WARM'} onChange={() => setMode('WARM')} /> Warm: stay until you leave</label>
        </fieldset>
        <div className="row-buttons">
          <button type="submit" disabled={chosen === undefined}>{chosen === undefined ? 'Transfer' : `Transfer to ${chosen.name}`}</button>
          <button type="button" className="quiet" onClick={onClose}>Cancel</button>
        </div>
      </form>
    </Modal>
  );
}

/** The EventEmitter side of the SDK's OutgoingTransfer (its typings extend Node's EventEmitter, which the browser build does not type). */
interface Emitter {
  on(event: string, listener: () => void): void;
  removeAllListeners(event: string): void;
}

/** What the outgoing transfer's last event was (the SDK's `transferInitiated`, then its `attemptFailed`, `failed`, `completed`, `canceled`). */
type TransferEvent = 'initiated' | 'attemptFailed' | 'failed' | 'completed' | 'canceled';

/** The event a transfer's status stands for (a transfer met when the canvas opens: after a reload, or coming back to the task). */
function eventOfStatus(status: string): TransferEvent | null {
  const events: Record<string, TransferEvent> = { initiated: 'initiated', completed: 'completed', complete: 'completed', failed: 'failed', canceled: 'canceled' };
  return events[status.toLowerCase()] ?? null;
}

/**
 * The task's outgoing transfer and its last event, following the SDK: the task's `transferInitiated`
 * hands the `OutgoingTransfer`, whose own events say how it ends. A transfer the SDK already holds
 * when the canvas opens (`task.transfers.outgoing`: one under way when the desktop loaded, or one
 * seen before the agent looked at another task) starts from its status.
 */
export function useOutgoingTransfer(task: Task): { transfer: OutgoingTransfer | null; event: TransferEvent | null } {
  const initial = task.transfers?.outgoing ?? null;
  const [state, setState] = useState<{ transfer: OutgoingTransfer | null; event: TransferEvent | null }>({ transfer: initial, event: initial === null ? null : eventOfStatus(initial.status) });
  useEffect(() => {
    const attached = new Set<OutgoingTransfer>();
    const attach = (t: OutgoingTransfer): void => {
      setState({ transfer: t, event: 'initiated' });
      if (attached.has(t)) return;
      attached.add(t);
      for (const e of ['attemptFailed', 'failed', 'completed', 'canceled'] as const) (t as unknown as Emitter).on(e, () => setState({ transfer: t, event: e }));
    };
    task.on('transferInitiated', attach);
    return () => {
      task.off('transferInitiated', attach);
      for (const t of attached) for (const e of ['attemptFailed', 'failed', 'completed', 'canceled']) (t as unknown as Emitter).removeAllListeners(e);
    };
  }, [task]);
  return state;
}

/**
 * The outgoing transfer's status line (a polite live region) and, while it is under way, Cancel
 * (`task.transfers.outgoing.cancel()`). `names` maps a WK/WQ SID to the name shown.
 */
export function TransferStatus({ transfer, event, names, act }: { transfer: OutgoingTransfer | null; event: TransferEvent | null; names: Map<string, string>; act: Act }) {
  if (transfer === null || event === null) return null;
  const to = names.get(transfer.to) ?? transfer.to;
  const mode = transfer.mode === 'COLD' ? 'cold' : 'warm';
  const reason = transfer.transferFailedReason ? ` (${transfer.transferFailedReason})` : '';
  const text: Record<TransferEvent, string> = {
    initiated: `Transferring to ${to} (${mode}): waiting for them to accept…`,
    attemptFailed: `${to} did not take the transfer${reason}${transfer.type === 'QUEUE' ? ': trying the next agent of the queue…' : '.'}`,
    failed: `The transfer to ${to} failed${reason}. The task is still yours.`,
    completed: transfer.mode === 'COLD' ? `Transfer completed: ${to} has the task. Wrap up when ready.` : `Transfer completed: ${to} has joined. Leave when ready.`,
    canceled: `The transfer to ${to} was canceled. The task is still yours.`,
  };
  const pending = event === 'initiated' || (event === 'attemptFailed' && transfer.type === 'QUEUE');
  return (
    <div className={`transfer-status ${event}`} role="status" aria-label="Transfer status">
      <span id={pending ? 'transfer-under-way' : undefined}>{text[event]}</span>
      {pending && <button type="button" className="quiet" onClick={() => act('Canceling the transfer', () => transfer.cancel())}>Cancel transfer</button>}
    </div>
  );
}

/** The dial pad's keys, in a phone's order; `+` for international numbers. */
const KEYS = ['1', '2', '3', '4', '5', '6', '7', '8', '9', '*', '0', '#', '+'] as const;

/** What the number field keeps of typed or pasted text: digits, `*`, `#` and `+` (at most 32). */
export function dialable(text: string): string {
  return text.replace(/[^0-9*#+]/g, '').slice(0, 32);
}

/**
 * The dial pad of an outbound call (Flex's StartOutboundTask): the number (keypad, typing or paste;
 * Backspace), the caller ID among the workspace's phone numbers, Call →
 * `worker.createTask(to, from, workflowSid, taskQueueSid, {taskChannelUniqueName: 'voice',
 * attributes: {direction: 'outbound'}})` — the SDK adds `outbound_to` and `from` and routes the
 * task to this worker. [DECISION] The workflow is the workspace's first; the queue the first (by
 * name) this worker is in (`TaskQueues?WorkerSid=`). The desktop then answers the task's
 * reservation by itself (`reservation.conference()`, AgentDesktop); the server dials the agent's
 * phone, then the customer. No digits are sent during a call (the agent's phone does that).
 */
export function DialPad({ worker, api, workspaceSid, act, onClose }: { worker: Worker; api: Api; workspaceSid: string; act: Act; onClose: () => void }) {
  const [to, setTo] = useState('');
  const [numbers, setNumbers] = useState<PhoneNumber[] | null>(null);
  const [from, setFrom] = useState('');
  const [route, setRoute] = useState<{ workflowSid: string; queueSid: string } | null>(null);
  const [problem, setProblem] = useState<string | null>(null);
  const field = useRef<HTMLInputElement>(null);
  useEffect(() => {
    const ws = `/v1/Workspaces/${workspaceSid}`;
    api.list<PhoneNumber>(`${ws}/PhoneNumbers`).then((n) => {
      const callable = n.filter((x) => x.phone_number.startsWith('+'));
      setNumbers(callable);
      setFrom(callable[0]?.phone_number ?? '');
    }, (e: Error) => setProblem(`The caller IDs could not be loaded: ${e.message}`));
    Promise.all([api.list<Workflow>(`${ws}/Workflows`), api.list<TaskQueue>(`${ws}/TaskQueues`, { WorkerSid: worker.sid })]).then(([flows, queues]) => {
      const workflow = flows[0];
      const queue = [...queues].sort((a, b) => a.friendly_name.localeCompare(b.friendly_name))[0];
      if (workflow === undefined) setProblem('The workspace has no workflow to create the call task with.');
      else if (queue === undefined) setProblem('You are in no task queue: an outbound call needs one.');
      else setRoute({ workflowSid: workflow.sid, queueSid: queue.sid });
    }, (e: Error) => setProblem(`The workflow could not be loaded: ${e.message}`));
  }, [api, workspaceSid, worker.sid]);
  const press = (key: string): void => setTo((t) => dialable(t + key));
  const back = (): void => setTo((t) => t.slice(0, -1));
  // Typing works wherever the focus is in the dialog (on a key, say), not only in the field.
  const keys = (e: KeyboardEvent): void => {
    if (e.target instanceof HTMLInputElement || e.target instanceof HTMLSelectElement || e.ctrlKey || e.metaKey || e.altKey) return;
    if (/^[0-9*#+]$/.test(e.key)) {
      e.preventDefault();
      press(e.key);
    } else if (e.key === 'Backspace') {
      e.preventDefault();
      back();
    }
  };
  const digits = to.replace(/[^0-9]/g, '').length;
  const call = (e: FormEvent): void => {
    e.preventDefault();
    if (digits < 3) {
      setProblem('Number to call: enter at least 3 digits.');
      field.current?.focus();
      return;
    }
    if (route === null || from === '') return;
    act(`Calling ${to}`, () => worker.createTask(to, from, route.workflowSid, route.queueSid, { taskChannelUniqueName: 'voice', attributes: { direction: 'outbound' } }));
    onClose();
  };
  return (
    <Modal labelledBy="dial-title" onClose={onClose} className="dialpad">
      <form onSubmit={call} onKeyDown={keys}>
        <h2 id="dial-title">Dial a number</h2>
        <label>
          Number to call
          <input ref={field} type="tel" inputMode="tel" value={to} onChange={(e) => setTo(dialable(e.target.value))} autoFocus autoComplete="off" aria-describedby="dial-help" />
        </label>
        <div className="keypad" role="group" aria-label="Keypad">
          {KEYS.map((k) => <button key={k} type="button" className="quiet" onClick={() => press(k)}>{k}</button>)}
          <button type="button" className="quiet" aria-label="Delete the last digit" onClick={back} disabled={to === ''}>⌫</button>
        </div>
        <label>
          Caller ID
          <select value={from} onChange={(e) => setFrom(e.target.value)} disabled={numbers === null || numbers.length === 0}>
            {(numbers ?? []).map((n) => <option key={n.sid} value={n.phone_number}>{n.friendly_name === null ? n.phone_number : `${n.friendly_name} (${n.phone_number})`}</option>)}
          </select>
        </label>
        <p id="dial-help" className="muted">Your phone rings first; the customer is called once you answer.</p>
        {numbers !== null && numbers.length === 0 && <p className="error">The workspace has no phone number to call from.</p>}
        {problem !== null && <p role="alert" className="error">{problem}</p>}
        <div className="row-buttons">
          <button type="submit" disabled={route === null || from === ''}>Call</button>
          <button type="button" className="quiet" onClick={onClose}>Cancel</button>
        </div>
      </form>
    </Modal>
  );
}
