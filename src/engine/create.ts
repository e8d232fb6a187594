/**
 * A new workspace (spec §1.4, Workspace create): its record and TaskRouter's seed resources —
 * activities Offline (the default and timeout activity), Available and Unavailable, and task
 * channels default, voice, chat, sms and video — and, with the `FIFO` template, a queue every
 * worker matches and a workflow sending every task to it.
 */
import type { SidGenerator } from '../util/sid.ts';
import { addActivity, addChannel } from './config-commands.ts';
import { emit, workspaceData } from './event-data.ts';
import type { EngineEvent } from './events.ts';
import { runCommand, takeEvents } from './execute.ts';
import type { QueueOrder, WorkspaceRecord } from './model.ts';
import { newEngineState, type EngineState } from './state.ts';
import { StatisticsRecorder } from './statistics.ts';

/** Options for a new workspace (spec §1.4, Workspace create parameters). */
export interface CreateWorkspaceOptions {
  friendlyName: string;
  /** Epoch ms. */
  at: number;
  newSid: SidGenerator;
  eventCallbackUrl?: string | null;
  eventsFilter?: string | null;
  multiTaskEnabled?: boolean;
  prioritizeQueueOrder?: QueueOrder;
  /** `FIFO` also creates a queue for every worker and a workflow sending all tasks to it. */
  template?: 'NONE' | 'FIFO';
  /** Extension: false turns automatic matching off (shadow replay); default true. */
  automaticRouting?: boolean;
}

const SEED_CHANNELS = ['default', 'voice', 'chat', 'sms', 'video'] as const;

/** Creates a workspace's state with the seed resources; returns it with the creation events, in order. */
export function createWorkspace(options: CreateWorkspaceOptions): { state: EngineState; events: EngineEvent[] } {
  const at = options.at;
  const ws: WorkspaceRecord = {
    sid: options.newSid('WS'),
    friendlyName: options.friendlyName,
    eventCallbackUrl: options.eventCallbackUrl ?? null,
    eventsFilter: options.eventsFilter ?? null,
    defaultActivitySid: '',
    timeoutActivitySid: '',
    multiTaskEnabled: options.multiTaskEnabled ?? true,
    prioritizeQueueOrder: options.prioritizeQueueOrder ?? 'FIFO',
    automaticRouting: options.automaticRouting ?? true,
    dateCreated: at,
    dateUpdated: at,
  };
  const state = newEngineState(ws, options.newSid, new StatisticsRecorder());
  emit(state, 'workspace.created', 'workspace', ws.sid, workspaceData(state));
  const offline = addActivity(state, 'Offline', false);
  addActivity(state, 'Available', true);
  addActivity(state, 'Unavailable', false);
  ws.defaultActivitySid = offline.sid;
  ws.timeoutActivitySid = offline.sid;
  for (const name of SEED_CHANNELS) addChannel(state, name, name, false);
  if (options.template === 'FIFO') {
    const q = runCommand(state, { type: 'createTaskQueue', at, friendlyName: 'Sample Queue', targetWorkers: '1==1' });
    runCommand(state, {
      type: 'createWorkflow',
      at,
      friendlyName: 'Default Fifo Workflow',
      configuration: JSON.stringify({ task_routing: { filters: [], default_filter: { queue: q } } }),
    });
  }
  return { state, events: takeEvents(state) };
}
