/**
 * The supervisor's real-time view (spec voice-worker-sdk-console.md §E2): a queues table — active
 * and waiting tasks, longest wait, the EWT of a caller entering now (GET Analytics/WaitTimes),
 * its agents available, busy (on a task), away and offline, service level and abandonment today —
 * and an agents table — activity, time in it, tasks against capacity —
 * filterable by the workers' `team` attribute, with the supervisor's actions: change an agent's
 * activity, complete a task left in wrap-up — and the callbacks waiting with each call target's
 * ECBT (docs/api-callbacks.md). Live: every event on the supervisor socket (docs/worker-sdk.md §7)
 * reloads the view within a quarter second; without the socket it reloads every 2 seconds.
 */
import { useEffect, useMemo, useRef, useState } from 'react';
import type { Activity, Api, Callback, CallTarget, CallTargetStatus, QueueStatistics, TaskQueue, Worker, WorkerChannel } from '../api.ts';
import { clock, useNow, usePolling } from '../hooks.ts';
import { useSupervisorEvents } from '../live.ts';
import { TodayCharts } from './TodayCharts.tsx';

interface Props {
  api: Api;
  workspaceSid: string;
}

/** Today's service level and abandonment of one queue (GET Analytics/Kpis), when analytics answer. */
interface QueueToday {
  service_level: number | null;
  abandonment_rate: number | null;
  offered: number;
}

/** One queue × channel's live EWT (GET Analytics/WaitTimes); seconds, null when nobody is staffed. */
interface WaitTime {
  task_queue_sid: string;
  task_channel: string;
  estimated_wait_time: number | null;
  tasks_waiting: number;
}

interface Snapshot {
  activities: Activity[];
  queues: TaskQueue[];
  stats: Map<string, QueueStatistics>;
  today: Map<string, QueueToday>;
  /** When {@link today} was read (ms, the browser's clock): the charts follow it. */
  todayAt: number;
  /** By queue SID: its channels' EWT rows. */
  waits: Map<string, WaitTime[]>;
  /** By queue SID: the SIDs of its members (the workers its TargetWorkers expression takes). */
  members: Map<string, string[]>;
  workers: Worker[];
  channels: Map<string, WorkerChannel[]>;
  wrapping: Array<{ sid: string; age: number; attributes: string; task_queue_friendly_name: string }>;
  /** Call targets with their offer now; empty when the server runs without callbacks. */
  targets: Array<CallTarget & { status: CallTargetStatus | null }>;
  /** Callbacks not yet ended, oldest first. */
  callbacks: Callback[];
}

/** Statuses a callback ends in (callbacks.md): the rest are still waiting or being worked. */
const ENDED = new Set(['completed', 'failed', 'expired', 'canceled']);

/** Reload interval while the live socket is down, and while it is up (a safety net), ms. */
const POLL_MS = 2000;
const LIVE_POLL_MS = 30_000;
/** Today's service level and abandonment are read again after this long, ms. */
const TODAY_MS = 5_000;
/** Events arriving together cause one reload after this quiet, ms. */
const DEBOUNCE_MS = 250;

export function Supervisor({ api, workspaceSid }: Props) {
  const base = `/v1/Workspaces/${workspaceSid}`;
  const now = useNow();
  const [team, setTeam] = useState('');
  const [message, setMessage] = useState<string | null>(null);
  const [changes, setChanges] = useState(0);
  const debounce = useRef<ReturnType<typeof setTimeout> | null>(null);
  const todayCache = useRef<{ at: number; today: Map<string, QueueToday> } | null>(null);
  const todayTimer = useRef<ReturnType<typeof setTimeout> | null>(null);
  useEffect(() => () => {
    if (todayTimer.current !== null) clearTimeout(todayTimer.current);
  }, []);
  const live = useSupervisorEvents(api, workspaceSid, () => {
    if (debounce.current !== null) return;
    debounce.current = setTimeout(() => {
      debounce.current = null;
      setChanges((n) => n + 1);
    }, DEBOUNCE_MS);
  });

  const snap = usePolling<Snapshot>(async () => {
    const [activities, queues, stats, workers, wrapping] = await Promise.all([
      api.list<Activity>(`${base}/Activities`),
      api.list<TaskQueue>(`${base}/TaskQueues`),
      api.list<QueueStatistics>(`${base}/TaskQueues/Statistics`),
      api.list<Worker>(`${base}/Workers`),
      api.list<Snapshot['wrapping'][number]>(`${base}/Tasks`, { AssignmentStatus: 'wrapping' }),
    ]);
    // Every worker's channels in one list (GET WorkerChannels), not one request per worker.
    const channels = new Map<string, WorkerChannel[]>();
    for (const c of await api.list<WorkerChannel>(`${base}/WorkerChannels`)) channels.set(c.worker_sid, [...(channels.get(c.worker_sid) ?? []), c]);
    // Today's figures cost the server a pass over the day's engagements per queue: read at most
    // every TODAY_MS, not on every event — and once more when that time is up, so the last change
    // shows within TODAY_MS.
    const cached = todayCache.current;
    const fresh = cached !== null && Date.now() - cached.at < TODAY_MS && queues.every((q) => cached.today.has(q.sid));
    const today = fresh ? cached.today : new Map<string, QueueToday>();
    if (fresh && todayTimer.current === null) {
      todayTimer.current = setTimeout(() => {
        todayTimer.current = null;
        setChanges((n) => n + 1);
      }, cached.at + TODAY_MS - Date.now());
    }
    if (!fresh) {
      const midnight = new Date();
      midnight.setUTCHours(0, 0, 0, 0);
      await Promise.all(queues.map(async (q) => {
        try {
          const r = await api.get<{ kpis: QueueToday[] }>(`${base}/Analytics/Kpis`, { StartDate: midnight.toISOString(), EndDate: new Date().toISOString(), TaskQueueSid: q.sid });
          if (r.kpis[0] !== undefined) today.set(q.sid, r.kpis[0]);
        } catch {
          // Analytics not answering: the columns show a dash.
        }
      }));
      todayCache.current = { at: Date.now(), today };
    }
    const members = new Map(await Promise.all(queues.map(async (q) => [q.sid, (await api.list<Worker>(`${base}/Workers`, { TaskQueueSid: q.sid })).map((w) => w.sid)] as const)));
    const waits = new Map<string, WaitTime[]>();
    try {
      for (const w of (await api.get<{ wait_times: WaitTime[] }>(`${base}/Analytics/WaitTimes`)).wait_times) waits.set(w.task_queue_sid, [...(waits.get(w.task_queue_sid) ?? []), w]);
    } catch {
      // Analytics not answering: the column shows a dash.
    }
    const { targets, callbacks } = await callbacksOf(api, base);
    return { activities, queues, stats: new Map(stats.map((s) => [s.task_queue_sid, s])), today, todayAt: todayCache.current?.at ?? 0, waits, members, workers, channels, wrapping, targets, callbacks };
  }, live === 'live' ? LIVE_POLL_MS : POLL_MS, `${workspaceSid} ${changes}`);

  const data = snap.data;
  const teams = useMemo(() => [...new Set((data?.workers ?? []).map((w) => teamOf(w)).filter((t): t is string => t !== null))].sort(), [data]);
  if (data === null) return <p aria-live="polite">{snap.error ?? 'Loading…'}</p>;

  const availability = new Map(data.activities.map((a) => [a.sid, a]));
  const offline = (sid: string): boolean => availability.get(sid)?.friendly_name === 'Offline';
  const shown = data.workers.filter((w) => team === '' || teamOf(w) === team);
  const state = new Map(data.workers.map((w) => [w.sid, agentState(w, data.channels.get(w.sid), offline(w.activity_sid))]));
  const tally = (sids: readonly string[]): Record<AgentState, number> => {
    const n: Record<AgentState, number> = { available: 0, busy: 0, away: 0, offline: 0 };
    for (const sid of sids) {
      const st = state.get(sid);
      if (st !== undefined) n[st] += 1;
    }
    return n;
  };
  const totals = {
    waiting: data.queues.reduce((n, q) => n + waitingOf(data.stats.get(q.sid)), 0),
    longest: Math.max(0, ...data.queues.map((q) => data.stats.get(q.sid)?.realtime.longest_task_waiting_age ?? 0)),
    ...tally(data.workers.map((w) => w.sid)),
  };

  const act = async (what: string, op: () => Promise<unknown>): Promise<void> => {
    try {
      await op();
      setMessage(what);
      snap.reload();
    } catch (e) {
      setMessage(`${what} failed: ${(e as Error).message}`);
    }
  };

  return (
    <div className="supervisor">
      <p className={`live ${live}`} role="status" aria-label="Updates">{live === 'live' ? '● Live' : live === 'connecting' ? 'Connecting…' : 'Updates every 2 s (live feed unavailable)'}</p>
      <section aria-label="Totals" className="tiles">
        <Tile label="Waiting tasks" value={String(totals.waiting)} />
        <Tile label="Longest wait" value={clock(totals.longest)} />
        <Tile label="Agents available" value={String(totals.available)} />
        <Tile label="Agents on a task" value={String(totals.busy)} />
        <Tile label="Agents away" value={String(totals.away)} />
        <Tile label="Agents offline" value={String(totals.offline)} />
      </section>
      {snap.error !== null && <p role="alert" className="error">Refresh failed: {snap.error}</p>}
      {message !== null && <p role="status" className="note">{message}</p>}

      <section aria-labelledby="queues-h">
        <h2 id="queues-h">Queues</h2>
        <table>
          <thead>
            <tr>
              <th scope="col">Queue</th>
              <th scope="col" className="num">Active</th>
              <th scope="col" className="num">Waiting</th>
              <th scope="col" className="num">Longest wait</th>
              <th scope="col" className="num"><abbr title="Estimated wait time of a caller entering the queue now">EWT</abbr></th>
              <th scope="col" className="num">Available</th>
              <th scope="col" className="num">On a task</th>
              <th scope="col" className="num">Away</th>
              <th scope="col" className="num">Offline</th>
              <th scope="col" className="num">Service level today</th>
              <th scope="col" className="num">Abandoned today</th>
            </tr>
          </thead>
          <tbody>
            {data.queues.map((q) => {
              const rt = data.stats.get(q.sid)?.realtime;
              const agents = tally(data.members.get(q.sid) ?? []);
              const today = data.today.get(q.sid);
              return (
                <tr key={q.sid} data-queue={q.friendly_name}>
                  <th scope="row">{q.friendly_name}</th>
                  <td className="num" data-col="active">{rt === undefined ? '—' : rt.tasks_by_status.assigned + rt.tasks_by_status.wrapping}</td>
                  <td className="num" data-col="waiting">{waitingOf(data.stats.get(q.sid))}</td>
                  <td className="num">{rt === undefined ? '—' : clock(rt.longest_task_waiting_age)}</td>
                  <td className="num" data-col="ewt">{ewtOf(data.waits.get(q.sid))}</td>
                  <td className="num" data-col="available">{agents.available}</td>
                  <td className="num" data-col="busy">{agents.busy}</td>
                  <td className="num" data-col="away">{agents.away}</td>
                  <td className="num" data-col="offline">{agents.offline}</td>
                  <td className="num" data-col="service-level">{percent(today?.service_level)}</td>
                  <td className="num" data-col="abandoned">{percent(today?.abandonment_rate)}</td>
                </tr>
              );
            })}
          </tbody>
        </table>
      </section>

      <section aria-labelledby="today-h">
        <h2 id="today-h">Today</h2>
        <TodayCharts api={api} workspaceSid={workspaceSid} changes={String(data.todayAt)} />
      </section>

      <section aria-labelledby="agents-h">
        <div className="row">
          <h2 id="agents-h">Agents</h2>
          <label className="inline">
            Team
            <select value={team} onChange={(e) => setTeam(e.target.value)}>
              <option value="">All teams</option>
              {teams.map((t) => <option key={t} value={t}>{t}</option>)}
            </select>
          </label>
        </div>
        <table>
          <thead>
            <tr>
              <th scope="col">Agent</th>
              <th scope="col">Team</th>
              <th scope="col">Activity</th>
              <th scope="col" className="num">Time in activity</th>
              <th scope="col">Tasks / capacity</th>
            </tr>
          </thead>
          <tbody>
            {shown.map((w) => (
              <tr key={w.sid} data-worker={w.friendly_name}>
                <th scope="row">{w.friendly_name}</th>
                <td>{teamOf(w) ?? '—'}</td>
                <td>
                  <select
                    aria-label={`Activity of ${w.friendly_name}`}
                    value={w.activity_sid}
                    className={w.available ? 'available' : 'unavailable'}
                    onChange={(e) => void act(`${w.friendly_name} set to ${availability.get(e.target.value)?.friendly_name ?? e.target.value}`, () => api.post(`${base}/Workers/${w.sid}`, { ActivitySid: e.target.value }))}
                  >
                    {data.activities.map((a) => <option key={a.sid} value={a.sid}>{a.friendly_name}</option>)}
                  </select>
                </td>
                <td className="num">{clock((now - Date.parse(w.date_status_changed)) / 1000)}</td>
                <td>{(data.channels.get(w.sid) ?? []).filter((c) => c.configured_capacity > 0).map((c) => `${c.task_channel_unique_name} ${c.assigned_tasks}/${c.configured_capacity}`).join(' · ') || '—'}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </section>

      {data.targets.length > 0 && (
        <section aria-labelledby="callbacks-h">
          <h2 id="callbacks-h">Callbacks</h2>
          <table>
            <thead><tr><th scope="col">Call target</th><th scope="col">Offer now</th><th scope="col" className="num">ECBT</th><th scope="col" className="num">Callbacks waiting</th></tr></thead>
            <tbody>
              {data.targets.map((t) => (
                <tr key={t.sid} data-target={t.friendly_name}>
                  <th scope="row">{t.friendly_name}</th>
                  <td>{t.status?.widget_state.replaceAll('_', ' ') ?? '—'}</td>
                  <td className="num">{t.status?.ecbt_phrase ?? (t.status?.ecbt == null ? '—' : clock(t.status.ecbt))}</td>
                  <td className="num" data-col="pending">{data.callbacks.filter((c) => c.call_target_sid === t.sid).length}</td>
                </tr>
              ))}
            </tbody>
          </table>
          {data.callbacks.length > 0 && (
            <table aria-label="Callbacks waiting">
              <thead><tr><th scope="col">Number</th><th scope="col">Type</th><th scope="col">Status</th><th scope="col" className="num">Expected in</th><th scope="col" className="num">Requested</th></tr></thead>
              <tbody>
                {data.callbacks.map((c) => (
                  <tr key={c.sid}>
                    <th scope="row">{c.phone_number}</th>
                    <td>{c.type === 'scheduled' && c.appointment_time !== null ? `scheduled ${new Date(c.appointment_time).toLocaleTimeString()}` : 'as soon as possible'}</td>
                    <td>{c.status.replaceAll('_', ' ')}</td>
                    <td className="num">{c.current_ecbt === null ? '—' : clock(c.current_ecbt)}</td>
                    <td className="num">{clock((now - Date.parse(c.date_created)) / 1000)} ago</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </section>
      )}

      <section aria-labelledby="wrapping-h">
        <h2 id="wrapping-h">Tasks in wrap-up</h2>
        {data.wrapping.length === 0 ? <p className="muted">None.</p> : (
          <table>
            <thead><tr><th scope="col">Customer and task</th><th scope="col">Queue</th><th scope="col" className="num">Age</th><th scope="col"><span className="sr-only">Action</span></th></tr></thead>
            <tbody>
              {data.wrapping.map((t) => (
                <tr key={t.sid}>
                  <th scope="row">{customerOf(t.attributes)} <code className="muted">{t.sid}</code></th>
                  <td>{t.task_queue_friendly_name}</td>
                  <td className="num">{clock(t.age)}</td>
                  <td><button type="button" onClick={() => void act(`Task ${t.sid} completed`, () => api.post(`${base}/Tasks/${t.sid}`, { AssignmentStatus: 'completed', Reason: 'completed by a supervisor' }))}>Complete</button></td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </section>
    </div>
  );
}

/** The call targets with their offer, and the callbacks still open; nothing when callbacks are not served (404). */
async function callbacksOf(api: Api, base: string): Promise<Pick<Snapshot, 'targets' | 'callbacks'>> {
  let targets: CallTarget[];
  try {
    targets = await api.list<CallTarget>(`${base}/CallTargets`);
  } catch {
    return { targets: [], callbacks: [] };
  }
  const [withStatus, callbacks] = await Promise.all([
    Promise.all(targets.map(async (t) => ({ ...t, status: await api.get<CallTargetStatus>(`${base}/CallTargets/${t.sid}/Status`).catch(() => null) }))),
    api.list<Callback>(`${base}/Callbacks`),
  ]);
  return { targets: withStatus, callbacks: callbacks.filter((c) => !ENDED.has(c.status)) };
}

function Tile({ label, value }: { label: string; value: string }) {
  return (
    <div className="tile">
      <div className="tile-value">{value}</div>
      <div className="tile-label">{label}</div>
    </div>
  );
}

/** Tasks waiting in a queue: pending and reserved (not yet accepted). */
/** Where an agent is, for the supervisor's counts: on a task whatever their activity, else by activity. */
type AgentState = 'available' | 'busy' | 'away' | 'offline';

/**
 * An agent's state: `busy` with any task assigned or in wrap-up on a channel (Amazon Connect's
 * AGENTS_ON_CONTACT, spec E2), else `available` in an available activity, `offline` in Offline,
 * `away` in any other unavailable one (a break, wrap-up after the task).
 */
function agentState(w: Worker, channels: readonly WorkerChannel[] | undefined, offline: boolean): AgentState {
  if ((channels ?? []).some((c) => c.assigned_tasks > 0)) return 'busy';
  if (w.available) return 'available';
  return offline ? 'offline' : 'away';
}

/** Who a task is with, from its attributes (`name`, `customer_name`, an outbound call's `outbound_to`, else `from`), or an empty string. */
function customerOf(attributes: string): string {
  try {
    const a = JSON.parse(attributes) as Record<string, unknown>;
    const who = [a['name'], a['customer_name'], a['outbound_to'], a['from']].find((v) => typeof v === 'string' && v !== '');
    return typeof who === 'string' ? who : '';
  } catch {
    return '';
  }
}

/**
 * A queue's EWT cell: the channels with callers waiting (`voice 1:20 · chat 0:35`, the channel left
 * out when only one), else the voice channel's estimate (a caller would wait that long now), else
 * a dash; a channel nobody staffs shows a dash for its estimate.
 */
function ewtOf(rows: WaitTime[] | undefined): string {
  if (rows === undefined || rows.length === 0) return '—';
  const show = (w: WaitTime): string => (w.estimated_wait_time === null ? '—' : clock(w.estimated_wait_time));
  const busy = rows.filter((w) => w.tasks_waiting > 0);
  if (busy.length === 1) return show(busy[0] as WaitTime);
  if (busy.length > 1) return busy.map((w) => `${w.task_channel} ${show(w)}`).join(' · ');
  const voice = rows.find((w) => w.task_channel === 'voice');
  return voice === undefined ? '—' : show(voice);
}

function waitingOf(s: QueueStatistics | undefined): number {
  return s === undefined ? 0 : s.realtime.tasks_by_status.pending + s.realtime.tasks_by_status.reserved;
}

function teamOf(w: Worker): string | null {
  try {
    const team = (JSON.parse(w.attributes) as { team?: unknown }).team;
    return typeof team === 'string' && team !== '' ? team : null;
  } catch {
    return null;
  }
}

function percent(v: number | null | undefined): string {
  return v === null || v === undefined ? '—' : `${(v * 100).toFixed(1)} %`;
}
