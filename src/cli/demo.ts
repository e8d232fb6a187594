/**
 * `switchboard serve --demo` (issue 12 item 1, issue 15 item 4): a center anyone can start.
 * It sets up the seed tutorial's workspace (voice spec A1) through the runtime — activities
 * Available / Offline / Wrap-Up, queues Hindi and English, the workflow "Incoming Customer
 * Requests", four agents with a `contact_uri` each, the seed flow on the demo number — and, on the
 * simulated telephone network, brings simulated callers in at a steady rate while simulated agents
 * take their reservations with the `dequeue` instruction, talk, wrap up and become available again.
 * Web chats come in too, on the demo's chat address (`web:demo`, routed by the same workflow on
 * the `chat` channel): a simulated customer opens a chat, the agent accepts it and answers, the
 * customer thanks them and falls quiet, and the built-in inactivity timeout (one minute) completes
 * the task and closes the conversation.
 *
 * The agents are a timer loop on the runtime's scheduler (not a core): every second it answers
 * pending voice reservations with `dequeue`, completes tasks that have been wrapping for
 * `wrapUpSeconds` and moves their worker back to Available, as it does an agent whose phone rang
 * out (the reservation timed out) after the same while.
 */
import { seedFlow, SEED_WORKFLOW_NAME } from '../callflows/index.ts';
import type { Runtime } from '../runtime/runtime.ts';
import type { Timer } from '../util/scheduler.ts';
import type { SimulatedVoiceNetwork } from '../voice/simulated-voice.ts';

/** The demo center's phone number. */
export const DEMO_NUMBER = '+18005550100';

/** Demo settings; seconds unless said. */
export interface DemoOptions {
  /** Seconds between two simulated callers; default 20 (0: no callers). */
  callEverySeconds?: number;
  /** After-call work before the demo agent completes the task; default 15. */
  wrapUpSeconds?: number;
  /** Seconds between two simulated web chats; default 45 (0: no chats). */
  chatEverySeconds?: number;
  /**
   * Whether a person works as this worker now (e.g. signed in to the console's agent desktop): the
   * simulated agents then leave its reservations, tasks and activity alone. Default: nobody.
   */
  isHuman?: (workerSid: string) => boolean;
}

/** The demo's web chat address (a `chat` address of the account; docs/conversations.md "Web chat"). */
export const DEMO_CHAT_ADDRESS = 'web:demo';

/** A chat's inactivity timeout in the demo, seconds (the shortest the policy allows). */
const CHAT_INACTIVE_SECONDS = 60;

/** What a demo customer writes, turn by turn (first message, then the reply to the agent). */
const CHAT_LINES = [
  ['Hi, my card was declined at a shop this morning.', 'Thanks, that was it!'],
  ['Hello, how do I change my address?', 'Perfect, thank you.'],
  ['Can I move a payment date?', 'Great, thanks for the help.'],
] as const;

/** A running demo: its workspace and how to stop it. */
export interface Demo {
  workspaceSid: string;
  number: string;
  stop(): void;
}

/** The demo's agents; `team` is what the supervisor's agents table filters on. */
const AGENTS = [
  { name: 'Asha', languages: ['hindi'], contact: '+919800000001', team: 'Mumbai' },
  { name: 'Ravi', languages: ['hindi', 'english'], contact: '+919800000002', team: 'Mumbai' },
  { name: 'Ben', languages: ['english'], contact: '+919800000003', team: 'London' },
  { name: 'Meera', languages: ['english'], contact: '+919800000004', team: 'London' },
];

/**
 * Creates the demo workspace for `accountSid` (or reuses the one a previous start created, found by
 * its name) and starts the callers and agents. Rejects with the runtime's error.
 */
export async function startDemo(runtime: Runtime, accountSid: string, network: SimulatedVoiceNetwork, options: DemoOptions = {}): Promise<Demo> {
  const callEvery = (options.callEverySeconds ?? 20) * 1000;
  const wrapUp = (options.wrapUpSeconds ?? 15) * 1000;
  let engine = runtime.workspaces(accountSid).find((w) => w.workspace.friendlyName === 'Switchboard demo');
  if (engine === undefined) {
    engine = (await runtime.createWorkspace(accountSid, { friendlyName: 'Switchboard demo' })).engine;
    const ws = engine.workspace.sid;
    const exec = async (command: Parameters<Runtime['execute']>[1]): Promise<string> => {
      const o = await runtime.execute(ws, command);
      if (o.rejection !== null) throw new Error(`demo set-up: ${o.rejection.message}`);
      return o.sid as string;
    };
    await exec({ type: 'createActivity', friendlyName: 'Wrap-Up', available: false });
    const hindi = await exec({ type: 'createTaskQueue', friendlyName: 'Hindi', targetWorkers: 'languages HAS "hindi"' });
    const english = await exec({ type: 'createTaskQueue', friendlyName: 'English', targetWorkers: 'languages HAS "english"' });
    const configuration = JSON.stringify({
      task_routing: { filters: [{ filter_friendly_name: 'Hindi', expression: 'selected_language == "hindi"', targets: [{ queue: hindi }] }], default_filter: { queue: english } },
    });
    const workflow = await exec({ type: 'createWorkflow', friendlyName: SEED_WORKFLOW_NAME, configuration });
    const available = [...engine.activities.values()].find((a) => a.friendlyName === 'Available')?.sid;
    for (const a of AGENTS) {
      await exec({ type: 'createWorker', friendlyName: a.name, attributes: JSON.stringify({ languages: a.languages, contact_uri: a.contact, team: a.team }), ...(available === undefined ? {} : { activitySid: available }) });
    }
    const flow = await runtime.voice.putFlow(accountSid, ws, null, { friendlyName: 'Welcome and language menu', definition: seedFlow(workflow) });
    await runtime.voice.putNumber(accountSid, ws, null, { phoneNumber: DEMO_NUMBER, callFlowSid: flow.sid, friendlyName: 'Demo line' });
    // Web chats: an auto-creating chat address routed by the workflow, and the chat channel's inactivity timeout.
    await runtime.conversations.write(accountSid, (c, at) =>
      c.putAddress(null, { type: 'chat', address: DEMO_CHAT_ADDRESS, friendlyName: 'Demo web chat', autoCreation: { enabled: true }, routing: { workspaceSid: ws, workflowSid: workflow, taskChannel: 'chat' } }, { at, source: 'API' }));
    const chat = engine.channelList.find((c) => c.uniqueName === 'chat');
    if (chat !== undefined) {
      await runtime.conversations.putPolicy(ws, chat.sid, { inactiveSeconds: CHAT_INACTIVE_SECONDS, closedSeconds: 0, timeoutMessage: 'This chat was closed after a minute without messages. Write again any time.', onTimeout: 'complete', closeConversation: true });
    }
  }
  const ws = engine.workspace.sid;
  const wrapUpActivity = [...engine.activities.values()].find((a) => a.friendlyName === 'Wrap-Up')?.sid;
  const availableActivity = [...engine.activities.values()].find((a) => a.friendlyName === 'Available')?.sid;
  const scheduler = runtime.scheduler;
  const instructed = new Set<string>();
  const chatEvery = (options.chatEverySeconds ?? 45) * 1000;
  const isHuman = options.isHuman ?? ((): boolean => false);
  let callers = 0;
  let chats = 0;
  let stopped = false;
  let callTimer: Timer | null = null;
  let chatTimer: Timer | null = null;
  let agentTimer: Timer | null = null;
  /** Open demo chats by conversation SID: the customer's session and what they say next. */
  const openChats = new Map<string, { token: string; reply: string; answered: boolean }>();

  const nextCaller = (): void => {
    if (stopped) return;
    callers += 1;
    network.placeCall({
      from: `+9198${String(10_000_000 + callers).padStart(8, '0')}`,
      to: DEMO_NUMBER,
      digits: [callers % 3 === 0 ? '1' : '2'],
      patienceSeconds: 60 + (callers % 5) * 60,
      talkSeconds: 45 + (callers % 4) * 30,
    });
    callTimer = scheduler.setTimer(nextCaller, callEvery);
  };

  const nextChat = (): void => {
    if (stopped) return;
    chats += 1;
    const [first, reply] = CHAT_LINES[chats % CHAT_LINES.length] as readonly [string, string];
    void runtime.conversations.startWebChat({ address: DEMO_CHAT_ADDRESS, name: `Customer ${chats}`, body: first }).then((started) => {
      if (started !== null) openChats.set(started.conversationSid, { token: started.token, reply, answered: false });
    }).catch(() => undefined);
    chatTimer = scheduler.setTimer(nextChat, chatEvery);
  };

  /** A demo agent accepts a chat reservation and answers; the customer replies once, then falls quiet. */
  const chatAgent = (reservationSid: string, workerName: string, conversationSid: string): void => {
    instructed.add(reservationSid);
    void runtime.execute(ws, { type: 'updateReservation', reservationSid, reservationStatus: 'accepted' }).then((o) => {
      if (o.rejection !== null) return undefined;
      return runtime.conversations.write(accountSid, (c, at) => c.addMessage(conversationSid, { author: workerName, body: `Hello, this is ${workerName}. Let me look into that for you… done: it is sorted now.` }, { at, source: 'API' }));
    }).then(() => {
      const chat = openChats.get(conversationSid);
      const session = chat === undefined ? undefined : runtime.conversations.webChatSession(chat.token);
      if (chat === undefined || session === undefined || chat.answered) return undefined;
      chat.answered = true;
      return runtime.conversations.webChatSay(session, chat.reply);
    }).catch(() => undefined);
  };

  const agents = (): void => {
    if (stopped) return;
    const e = runtime.workspace(accountSid, ws);
    if (e !== undefined) {
      for (const r of e.reservations.values()) {
        if (r.reservationStatus !== 'pending' || instructed.has(r.sid) || isHuman(r.workerSid)) continue;
        const conversationSid = e.tasks.get(r.taskSid)?.attributes['conversationSid'];
        if (typeof conversationSid === 'string') chatAgent(r.sid, e.workers.get(r.workerSid)?.friendlyName ?? 'Agent', conversationSid);
      }
      for (const sid of openChats.keys()) if (runtime.conversations.center(accountSid).conversation(sid)?.state === 'closed') openChats.delete(sid);
      for (const r of e.reservations.values()) {
        if (r.reservationStatus !== 'pending' || instructed.has(r.sid) || isHuman(r.workerSid)) continue;
        const task = e.tasks.get(r.taskSid);
        if (typeof task?.attributes['call_sid'] !== 'string') continue;
        instructed.add(r.sid);
        const parameters: Record<string, string> = { from: DEMO_NUMBER, to: String(e.workers.get(r.workerSid)?.attributes['contact_uri'] ?? ''), timeout: '20' };
        if (wrapUpActivity !== undefined) parameters['post_work_activity_sid'] = wrapUpActivity;
        void runtime.voice.instruct(accountSid, ws, r.sid, { instruction: 'dequeue', parameters, accepts: true }, null).catch(() => undefined);
      }
      for (const t of e.tasks.values()) {
        if (t.assignmentStatus !== 'wrapping' || scheduler.now() - t.dateUpdated < wrapUp) continue;
        const worker = t.reservationSids.map((sid) => e.reservations.get(sid)).find((r) => r?.reservationStatus === 'wrapping')?.workerSid;
        if (worker !== undefined && isHuman(worker)) continue;
        void runtime.execute(ws, { type: 'updateTask', taskSid: t.sid, assignmentStatus: 'completed', reason: 'demo agent wrapped up' }).then(() => {
          if (worker !== undefined && availableActivity !== undefined) return runtime.execute(ws, { type: 'updateWorker', workerSid: worker, activitySid: availableActivity });
          return undefined;
        }).catch(() => undefined);
      }
      // A demo agent whose phone rang out (the reservation timed out, TimeoutActivity) is back after a while.
      for (const w of e.workers.values()) {
        if (w.activitySid !== e.workspace.timeoutActivitySid || availableActivity === undefined || scheduler.now() - w.dateStatusChanged < wrapUp || isHuman(w.sid)) continue;
        void runtime.execute(ws, { type: 'updateWorker', workerSid: w.sid, activitySid: availableActivity }).catch(() => undefined);
      }
    }
    agentTimer = scheduler.setTimer(agents, 1000);
  };

  if (callEvery > 0) callTimer = scheduler.setTimer(nextCaller, 1000);
  if (chatEvery > 0) chatTimer = scheduler.setTimer(nextChat, 5000);
  agentTimer = scheduler.setTimer(agents, 1000);
  return {
    workspaceSid: ws,
    number: DEMO_NUMBER,
    stop: () => {
      stopped = true;
      callTimer?.cancel();
      chatTimer?.cancel();
      agentTimer?.cancel();
    },
  };
}
