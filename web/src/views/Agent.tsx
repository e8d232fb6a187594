/**
 * The agent desktop (issue 15 item 3; what Flex and Connect let an agent do, spec
 * voice-worker-sdk-console.md §E1), built on Twilio's own worker SDK (`twilio-taskrouter`) pointed at
 * this server: presence with time in activity, incoming reservations that ring with a countdown,
 * accept and reject, the tasks held per channel against capacity, a task canvas (attributes,
 * customer, a callback's stored context), voice controls, the chat of a conversation with its
 * inactivity countdown, transfers to a queue or a colleague found in the directory (with the
 * outgoing transfer's status and an incoming one's origin), a dial pad for outbound calls, and
 * wrap-up with a disposition, notes and the next activity.
 *
 * Everything goes through the SDK (`worker`, `reservation`, `task` methods) except the chat's
 * messages, which the SDK does not carry: those use `Tasks/{WT}/Messages` with the same access token.
 */
import { useEffect, useMemo, useRef, useState, type FormEvent, type ReactNode } from 'react';
import { Worker, type Reservation, type Task } from 'twilio-taskrouter';
import { Api, type MintedToken, type TaskMessages } from '../api.ts';
import { clock, useNow } from '../hooks.ts';
import { DialPad, TransferDialog, TransferStatus, useDirectory, useOutgoingTransfer } from './AgentDialogs.tsx';

interface Props {
  token: string;
  workspaceSid: string;
}

/**
 * The SDK worker, null until `ready`. The SDK mutates its objects in place, so each of its events
 * bumps a counter to re-render the desktop.
 */
function useWorker(token: string): { worker: Worker | null; error: string | null } {
  const [worker, setWorker] = useState<Worker | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [, setTick] = useState(0);
  useEffect(() => {
    const origin = location.origin;
    const w = new Worker(token, {
      ebServer: `${origin}/v1/wschannels`,
      wsServer: `${origin.replace(/^http/, 'ws')}/v1/wschannels`,
      closeExistingSessions: true,
      logLevel: 'error',
    });
    const bump = (): void => setTick((t) => t + 1);
    const watch = (r: Reservation): void => {
      for (const e of ['accepted', 'rejected', 'timeout', 'canceled', 'rescinded', 'wrapup', 'completed'] as const) r.on(e, bump);
      r.task.on('updated', bump);
      r.task.on('wrapup', bump);
      r.task.on('completed', bump);
      r.task.on('canceled', bump);
      r.task.on('transferInitiated', bump);
    };
    w.on('ready', () => {
      for (const r of w.reservations.values()) watch(r);
      setWorker(w);
      bump();
    });
    w.on('reservationCreated', (r) => {
      watch(r);
      bump();
    });
    w.on('activityUpdated', bump);
    w.on('attributesUpdated', bump);
    w.on('disconnected', () => setError('Disconnected from the server; reconnecting…'));
    w.on('tokenExpired', () => setError('Your session has expired: sign in again.'));
    w.on('error', (e) => setError(e.message));
    return () => {
      w.removeAllListeners();
      w.disconnect();
    };
  }, [token]);
  return { worker, error };
}

/** Two short tones every two seconds while `ringing` (Web Audio: no sound file to fetch). */
function useRing(ringing: boolean, muted: boolean): void {
  const ctx = useRef<AudioContext | null>(null);
  useEffect(() => {
    if (!ringing || muted) return;
    const beep = (): void => {
      ctx.current ??= new AudioContext();
      const a = ctx.current;
      for (const at of [0, 0.25]) {
        const osc = a.createOscillator();
        const gain = a.createGain();
        osc.frequency.value = 880;
        gain.gain.value = 0.08;
        osc.connect(gain).connect(a.destination);
        osc.start(a.currentTime + at);
        osc.stop(a.currentTime + at + 0.15);
      }
    };
    beep();
    const id = setInterval(beep, 2000);
    return () => clearInterval(id);
  }, [ringing, muted]);
}

export function AgentDesktop({ token, workspaceSid }: Props) {
  const { worker, error } = useWorker(token);
  const api = useMemo(() => new Api({ token }), [token]);
  const now = useNow();
  const [selected, setSelected] = useState<string | null>(null);
  const [muted, setMuted] = useState(false);
  const [message, setMessage] = useState<string | null>(null);
  const [dialing, setDialing] = useState(false);
  const directory = useDirectory(api, workspaceSid);
  const names = useMemo(() => new Map(directory.workers.map((w) => [w.sid, w.friendly_name])), [directory.workers]);
  const answered = useRef(new Set<string>());

  const reservations = worker === null ? [] : [...worker.reservations.values()];
  // An outbound call this agent started is answered at once (no ringing card): see below.
  const pending = reservations.filter((r) => r.status === 'pending' && !(worker !== null && ownOutbound(r, worker)));
  const outbound = reservations.filter((r) => r.status === 'pending' && worker !== null && ownOutbound(r, worker) && !answered.current.has(r.sid));
  const held = reservations.filter((r) => r.status === 'accepted' || r.status === 'wrapping');
  useRing(pending.length > 0, muted);
  const current = held.find((r) => r.sid === selected) ?? held[0] ?? null;
  const act = (what: string, op: () => Promise<unknown>): void => {
    op().then(() => setMessage(null), (e: Error) => setMessage(`${what} failed: ${e.message}`));
  };

  // The reservation of an outbound call the agent dialed is accepted by the conference instruction
  // straight away: the server rings the agent's phone, then dials the customer into the conference.
  // The agent's phone shows the caller ID chosen for the customer (the task's `from`). When the
  // server refuses the call (a number it cannot dial, say), the task is canceled at once: left
  // pending, its reservation would time out and take the agent out of routing.
  useEffect(() => {
    for (const r of outbound) {
      answered.current.add(r.sid);
      const from = r.task.attributes['from'];
      const to = String(r.task.attributes['outbound_to']);
      r.conference(typeof from === 'string' && from !== '' ? { from } : undefined).then(
        () => setMessage(null),
        (e: Error) => {
          setMessage(`The call to ${to} could not be placed: ${e.message}`);
          api.post(`/v1/Workspaces/${workspaceSid}/Tasks/${r.task.sid}`, { AssignmentStatus: 'canceled', Reason: `outbound call not placed: ${e.message}`.slice(0, 255) }).catch(() => undefined);
        },
      );
    }
  });

  if (worker === null) return <p aria-live="polite">{error ?? 'Connecting…'}</p>;

  return (
    <div className="agent">
      <section className="presence" aria-label="Presence">
        <strong>{worker.name}</strong>
        <label className="inline">
          Activity
          <select aria-label="Your activity" value={worker.activity.sid} className={worker.available ? 'available' : 'unavailable'} onChange={(e) => act('Changing activity', () => worker.activities.get(e.target.value)!.setAsCurrent())}>
            {[...worker.activities.values()].map((a) => <option key={a.sid} value={a.sid}>{a.name}</option>)}
          </select>
        </label>
        <span className="muted" aria-label="Time in activity">{clock((now - worker.dateActivityChanged.getTime()) / 1000)}</span>
        <span className="channels" aria-label="Capacity">
          {/* Tasks held per channel are counted from the reservations (always current); the capacity is the channel's. */}
          {[...worker.channels.values()].filter((c) => c.capacity > 0).map((c) => <span key={c.sid} className="chip">{c.taskChannelUniqueName} {held.filter((r) => r.task.taskChannelUniqueName === c.taskChannelUniqueName).length}/{c.capacity}</span>)}
        </span>
        <label className="inline"><input type="checkbox" checked={muted} onChange={(e) => setMuted(e.target.checked)} /> Mute ring</label>
        <button type="button" className="quiet" onClick={() => setDialing(true)}>Dial a number</button>
      </section>
      {dialing && <DialPad worker={worker} api={api} workspaceSid={workspaceSid} act={act} onClose={() => setDialing(false)} />}
      {error !== null && <p role="alert" className="error">{error}</p>}
      {message !== null && <p role="alert" className="error">{message}</p>}

      {pending.map((r) => <Incoming key={r.sid} reservation={r} now={now} names={names} act={act} />)}

      <div className="workarea">
        <nav aria-label="My tasks" className="tasklist">
          <h2>Tasks</h2>
          {held.length === 0 ? <p className="muted">No task. {worker.available ? 'Waiting for the next one.' : 'Go Available to receive tasks.'}</p> : (
            <ul>
              {held.map((r) => (
                <li key={r.sid}>
                  <button type="button" className={r.sid === current?.sid ? 'task current' : 'task'} aria-current={r.sid === current?.sid ? 'true' : undefined} onClick={() => setSelected(r.sid)}>
                    <span className="chip">{r.task.taskChannelUniqueName}</span> {customerOf(r.task)}
                    <span className="muted"> · {r.status === 'wrapping' ? 'wrap-up' : clock(r.task.age)}</span>
                  </button>
                </li>
              ))}
            </ul>
          )}
        </nav>
        {current !== null && <TaskCanvas key={current.sid} reservation={current} worker={worker} api={api} workspaceSid={workspaceSid} directory={directory} names={names} now={now} act={act} />}
      </div>
    </div>
  );
}

/**
 * Whether `r` is the reservation of an outbound call this worker dialed: the task carries the
 * `outbound_to` that `worker.createTask` adds and is routed to this worker (its RoutingTarget).
 */
function ownOutbound(r: Reservation, worker: Worker): boolean {
  return typeof r.task.attributes['outbound_to'] === 'string' && r.task.routingTarget === worker.sid;
}

/** Who the customer is, from the task's attributes (the names Flex, our interactions and callbacks use; an outbound call's `outbound_to`). */
function customerOf(task: Task): string {
  const a = task.attributes as Record<string, unknown>;
  for (const k of ['customerName', 'name', 'outbound_to', 'from', 'customerAddress', 'phone_number', 'caller']) {
    if (typeof a[k] === 'string' && a[k] !== '') return a[k];
  }
  return 'Customer';
}

type Act = (what: string, op: () => Promise<unknown>) => void;

/** Caller ID for the agent's leg: the number the customer called (the task's `to` / `called`), when known. */
function callerIdOf(task: Task): { from: string } | undefined {
  const a = task.attributes as Record<string, unknown>;
  const called = a['to'] ?? a['called'];
  return typeof called === 'string' && called !== '' ? { from: called } : undefined;
}

/** An incoming transfer as the SDK hangs it on the reservation (`reservation.transfer`; not in its typings): who sent it and how. */
interface IncomingTransferInfo {
  workerSid?: string;
  mode?: 'WARM' | 'COLD';
}

function Incoming({ reservation: r, now, names, act }: { reservation: Reservation; now: number; names: Map<string, string>; act: Act }) {
  const left = Math.max(0, r.timeout - (now - r.dateCreated.getTime()) / 1000);
  const voice = r.task.taskChannelUniqueName === 'voice' || typeof r.task.attributes['call_sid'] === 'string';
  const transfer = (r as Reservation & { transfer?: IncomingTransferInfo | null }).transfer ?? null;
  const sender = transfer?.workerSid === undefined ? 'a colleague' : (names.get(transfer.workerSid) ?? transfer.workerSid);
  return (
    <section className="incoming" role="alertdialog" aria-labelledby={`in-${r.sid}`} aria-describedby={`in-${r.sid}-d`}>
      <h2 id={`in-${r.sid}`}>Incoming {r.task.taskChannelUniqueName}{transfer === null ? '' : ' transfer'}: {customerOf(r.task)}</h2>
      <p id={`in-${r.sid}-d`}>
        {transfer !== null && <><strong>Transferred by {sender}</strong> ({transfer.mode === 'COLD' ? 'cold: they have left' : 'warm: they are still on'}) · </>}
        {r.task.queueName ? `Queue ${r.task.queueName} · ` : ''}waiting {clock(r.task.age)} · <span aria-label="Time left to answer">{clock(left)} left</span>
      </p>
      <div className="row-buttons">
        {/* A voice task is answered by a conference of the caller and this agent's phone over the voice port (Flex's way: it allows hold and mute), calling from the number the customer called; other channels by accepting. */}
        <button type="button" onClick={() => act('Accepting', () => (voice ? r.conference(callerIdOf(r.task)) : r.accept()))}>Accept</button>
        <button type="button" className="quiet" onClick={() => act('Rejecting', () => r.reject())}>Reject</button>
      </div>
    </section>
  );
}

const DISPOSITIONS = ['Resolved', 'Follow-up needed', 'Callback requested', 'Transferred', 'Other'];

function TaskCanvas({ reservation: r, worker, api, workspaceSid, directory, names, now, act }: { reservation: Reservation; worker: Worker; api: Api; workspaceSid: string; directory: ReturnType<typeof useDirectory>; names: Map<string, string>; now: number; act: Act }) {
  const task = r.task;
  const [transferring, setTransferring] = useState(false);
  const { transfer, event } = useOutgoingTransfer(task);
  const [queueNames, setQueueNames] = useState<Map<string, string>>(new Map());
  useEffect(() => {
    if (transfer?.type !== 'QUEUE') return;
    api.list<{ sid: string; friendly_name: string }>(`/v1/Workspaces/${workspaceSid}/TaskQueues`).then((qs) => setQueueNames(new Map(qs.map((q) => [q.sid, q.friendly_name]))), () => undefined);
  }, [api, workspaceSid, transfer?.type]);
  const transferUnderWay = event === 'initiated' || (event === 'attemptFailed' && transfer?.type === 'QUEUE');
  // aria-disabled rather than disabled while a transfer is under way: the focus, back on this
  // button when the dialog closes, stays there instead of being dropped to the page.
  const transferButton = <button type="button" className="quiet" aria-disabled={transferUnderWay} aria-describedby={transferUnderWay ? 'transfer-under-way' : undefined} onClick={() => !transferUnderWay && setTransferring(true)}>Transfer…</button>;
  const attributes = task.attributes as Record<string, unknown>;
  const chat = typeof attributes['conversationSid'] === 'string';
  const voice = task.taskChannelUniqueName === 'voice' || typeof attributes['call_sid'] === 'string';
  const context = attributes['context'];
  const wrapping = r.status === 'wrapping' || task.status === 'wrapping';
  return (
    <article className="canvas" aria-label={`Task ${task.sid}`}>
      <header className="row">
        <h2>{customerOf(task)} <span className="chip">{task.taskChannelUniqueName}</span></h2>
        <span className="muted">{task.queueName} · {wrapping ? 'wrap-up' : `${clock(task.age)} since the customer came in`}</span>
      </header>
      {voice && !wrapping && <VoiceControls reservation={r} worker={worker} act={act}>{transferButton}</VoiceControls>}
      {!voice && !wrapping && <div className="row-buttons">{transferButton}</div>}
      <TransferStatus transfer={transfer} event={event} names={new Map([...names, ...queueNames])} act={act} />
      {transferring && <TransferDialog task={task} worker={worker} api={api} workspaceSid={workspaceSid} directory={directory} act={act} onClose={() => setTransferring(false)} />}
      {chat && <ChatCanvas api={api} workspaceSid={workspaceSid} taskSid={task.sid} now={now} handedOver={event === 'completed' && transfer?.mode === 'COLD'} customer={{ address: String(attributes['customerAddress'] ?? ''), name: customerOf(task) }} />}
      {!wrapping && !voice && <button type="button" className="quiet" onClick={() => act('Ending', () => task.wrapUp({ reason: 'ended by the agent' }))}>End and wrap up</button>}
      {wrapping && <WrapUp task={task} worker={worker} act={act} />}
      <details open={!chat}>
        <summary>Task details</summary>
        {context !== undefined && context !== null && typeof context === 'object' && (
          <>
            <h3>Callback context</h3>
            <dl className="attrs">{Object.entries(context as Record<string, unknown>).map(([k, v]) => <div key={k}><dt>{k}</dt><dd>{String(v)}</dd></div>)}</dl>
          </>
        )}
        <h3>Attributes</h3>
        <dl className="attrs">{Object.entries(attributes).filter(([k]) => k !== 'context').map(([k, v]) => <div key={k}><dt>{k}</dt><dd><code>{typeof v === 'string' ? v : JSON.stringify(v)}</code></dd></div>)}</dl>
      </details>
    </article>
  );
}

/**
 * The call's controls. On a conference (how the desktop answers calls): hang up — this agent's leg
 * leaves and the task goes to wrap-up (`task.kick`) —, hold and resume the customer
 * (`task.updateParticipant`), mute and unmute oneself (`reservation.updateParticipant`). A call
 * bridged another way (`dequeue` by some other client) can only be ended by wrapping up. Transfers
 * are the canvas's (any channel; its button comes in as `children`, after these). No digits
 * during a call: the agent answers on their own phone, which sends them (a WebRTC softphone, spec
 * E4, is out of scope).
 */
function VoiceControls({ reservation, worker, act, children }: { reservation: Reservation; worker: Worker; act: Act; children?: ReactNode }) {
  const task = reservation.task;
  const conference = typeof task.attributes['conference'] === 'object' && task.attributes['conference'] !== null;
  const [held, setHeld] = useState(false);
  const [muted, setMuted] = useState(false);
  return (
    <section aria-label="Call controls" className="row-buttons">
      <button type="button" onClick={() => act('Hanging up', () => (conference ? task.kick(worker.sid) : task.wrapUp({ reason: 'call ended by the agent' })))}>Hang up</button>
      {conference && (
        <>
          <button type="button" className="quiet" aria-pressed={held} onClick={() => act(held ? 'Resuming' : 'Holding', async () => { await task.updateParticipant({ hold: !held }); setHeld(!held); })}>{held ? 'Resume customer' : 'Hold customer'}</button>
          <button type="button" className="quiet" aria-pressed={muted} onClick={() => act(muted ? 'Unmuting' : 'Muting', async () => { await reservation.updateParticipant({ mute: !muted }); setMuted(!muted); })}>{muted ? 'Unmute' : 'Mute'}</button>
        </>
      )}
      {children}
    </section>
  );
}

/**
 * The chat of a conversation task: history, send, and the countdown to the inactivity timeout.
 * Polls every 1.5 s. `handedOver`: the chat went to a colleague by a completed COLD transfer — the
 * history stays readable, the composer goes.
 */
function ChatCanvas({ api, workspaceSid, taskSid, now, handedOver, customer }: { api: Api; workspaceSid: string; taskSid: string; now: number; handedOver: boolean; customer: { address: string; name: string } }) {
  const [chat, setChat] = useState<TaskMessages | null>(null);
  const [draft, setDraft] = useState('');
  const [error, setError] = useState<string | null>(null);
  const path = `/v1/Workspaces/${workspaceSid}/Tasks/${taskSid}/Messages`;
  const log = useRef<HTMLOListElement>(null);
  useEffect(() => {
    let live = true;
    const load = (): void => {
      api.get<TaskMessages>(path).then((c) => live && setChat(c), (e: Error) => live && setError(e.message));
    };
    load();
    const id = setInterval(load, 1500);
    return () => {
      live = false;
      clearInterval(id);
    };
  }, [api, path]);
  useEffect(() => {
    log.current?.lastElementChild?.scrollIntoView({ block: 'nearest' });
  }, [chat?.messages.length]);
  const send = (e: FormEvent): void => {
    e.preventDefault();
    const body = draft.trim();
    if (body === '') return;
    api.post(path, { Body: body }).then(() => {
      setDraft('');
      return api.get<TaskMessages>(path).then(setChat);
    }, (err: Error) => setError(err.message));
  };
  if (chat === null) return <p aria-live="polite">{error ?? 'Loading the conversation…'}</p>;
  const closed = chat.state === 'closed';
  const left = chat.date_inactive === null ? null : Math.max(0, (Date.parse(chat.date_inactive) - now) / 1000);
  return (
    <section aria-label="Chat" className="chat">
      <ol ref={log} className="messages" aria-live="polite">
        {chat.messages.map((m) => (
          <li key={m.index} className={m.author === 'system' ? 'system' : m.author === customer.address ? 'customer' : 'agent'}>
            <span className="author">{m.author === 'system' ? 'System' : m.author === customer.address ? customer.name : m.author}</span>
            <span className="body">{m.body}</span>
          </li>
        ))}
      </ol>
      <p className="muted" aria-label="Inactivity">{closed ? 'The conversation is closed.' : left === null ? 'No inactivity timeout.' : `Closes after ${clock(left)} without a message.`}</p>
      {error !== null && <p role="alert" className="error">{error}</p>}
      {!closed && !handedOver && (
        <form onSubmit={send} className="row">
          <label className="grow">
            <span className="sr-only">Message</span>
            <input value={draft} onChange={(e) => setDraft(e.target.value)} placeholder="Write a message" maxLength={1600} />
          </label>
          <button type="submit">Send</button>
        </form>
      )}
    </section>
  );
}

function WrapUp({ task, worker, act }: { task: Task; worker: Worker; act: Act }) {
  const [disposition, setDisposition] = useState(DISPOSITIONS[0]!);
  const [notes, setNotes] = useState('');
  const [next, setNext] = useState(worker.activity.sid);
  const complete = (e: FormEvent): void => {
    e.preventDefault();
    act('Completing', async () => {
      await task.setAttributes({ ...task.attributes, disposition, notes });
      await task.complete(`disposition: ${disposition}`);
      if (next !== worker.activity.sid) await worker.activities.get(next)!.setAsCurrent();
    });
  };
  return (
    <form className="wrapup" onSubmit={complete} aria-label="Wrap-up">
      <h3>Wrap-up</h3>
      <label>
        Disposition
        <select value={disposition} onChange={(e) => setDisposition(e.target.value)}>
          {DISPOSITIONS.map((d) => <option key={d}>{d}</option>)}
        </select>
      </label>
      <label>
        Notes
        <textarea rows={3} value={notes} onChange={(e) => setNotes(e.target.value)} />
      </label>
      <label>
        Then go
        <select value={next} onChange={(e) => setNext(e.target.value)}>
          {[...worker.activities.values()].map((a) => <option key={a.sid} value={a.sid}>{a.name}</option>)}
        </select>
      </label>
      <button type="submit">Complete</button>
    </form>
  );
}

/**
 * The Agent tab of a console signed in with account credentials: pick the worker to be, and the
 * console mints that worker's access token (`POST Workspaces/{WS}/AccessTokens`, docs/worker-sdk.md)
 * — what a center's own sign-in backend would do with `twilio.jwt.AccessToken`.
 */
export function AgentSignIn({ api, workspaceSid }: { api: Api; workspaceSid: string }) {
  const [workers, setWorkers] = useState<Array<{ sid: string; friendly_name: string }> | null>(null);
  const [workerSid, setWorkerSid] = useState('');
  const [token, setToken] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    api.list<{ sid: string; friendly_name: string }>(`/v1/Workspaces/${workspaceSid}/Workers`).then((w) => {
      setWorkers(w);
      setWorkerSid(w[0]?.sid ?? '');
    }, (e: Error) => setError(e.message));
  }, [api, workspaceSid]);
  if (token !== null) return <AgentDesktop token={token} workspaceSid={workspaceSid} />;
  const start = (e: FormEvent): void => {
    e.preventDefault();
    api.post<MintedToken>(`/v1/Workspaces/${workspaceSid}/AccessTokens`, { Role: 'worker', WorkerSid: workerSid, Ttl: 8 * 3600 }).then((t) => setToken(t.token), (err: Error) => setError(err.message));
  };
  return (
    <form className="signin-agent" onSubmit={start}>
      <h2>Work as an agent</h2>
      <p className="muted">The desktop connects with Twilio's worker SDK as the agent you choose.</p>
      <label htmlFor="agent-pick">Agent</label>
      <select id="agent-pick" value={workerSid} onChange={(e) => setWorkerSid(e.target.value)} disabled={workers === null}>
        {(workers ?? []).map((w) => <option key={w.sid} value={w.sid}>{w.friendly_name}</option>)}
      </select>
      {error !== null && <p role="alert" className="error">{error}</p>}
      <button type="submit" disabled={workerSid === ''}>Start</button>
    </form>
  );
}
