/**
 * Fixture for the callback tests: a workspace with one voice queue and `workers` available
 * agents, a CallbackCenter with one call target on that queue, a simulated telephone network
 * and the virtual-time driver. Deterministic SIDs; time starts at T0 (Monday 2024-01-01 12:00 UTC).
 */
import { WorkspaceEngine } from '../../src/engine/engine.ts';
import { SequentialSids } from '../../src/util/sid.ts';
import { CallbackCenter, type CallbackRequest, type CenterSidGenerator } from '../../src/callbacks/center.ts';
import { CallbackDriver, simpleAgents, type AgentPolicy } from '../../src/sim/callback-driver.ts';
import type { CallTargetInput } from '../../src/callbacks/call-target.ts';
import { SimulatedNetwork, type SimulatedNetworkOptions } from '../../src/voice/simulated-network.ts';

export const T0 = 1_704_110_400_000;

export interface World {
  driver: CallbackDriver;
  engine: WorkspaceEngine;
  center: CallbackCenter;
  network: SimulatedNetwork;
  queueSid: string;
  workers: string[];
  available: string;
  offline: string;
  engineSids: SequentialSids;
  centerSids: SequentialSids;
  centerSid: CenterSidGenerator;
  targetSid: string;
}

export function world(options: { workers?: number; target?: Partial<CallTargetInput>; agents?: AgentPolicy | null; network?: SimulatedNetworkOptions; holdUntilQuote?: boolean } = {}): World {
  const engineSids = new SequentialSids(1);
  const centerSids = new SequentialSids(2);
  const centerSid: CenterSidGenerator = (p) => centerSids.next(p);
  const { engine } = WorkspaceEngine.create({ friendlyName: 'Callbacks', at: T0, newSid: engineSids.next });
  const activity = (name: string): string => [...engine.activities.values()].find((a) => a.friendlyName === name)?.sid as string;
  const available = activity('Available');
  const offline = activity('Offline');
  const queueSid = engine.execute({ type: 'createTaskQueue', at: T0, friendlyName: 'Support', targetWorkers: '1==1' }).sid as string;
  const workers: string[] = [];
  for (let i = 0; i < (options.workers ?? 1); i++) {
    workers.push(engine.execute({ type: 'createWorker', at: T0, friendlyName: `agent${i}`, activitySid: available, attributes: '{}' }).sid as string);
  }
  const center = new CallbackCenter({ newSid: centerSid, now: T0, ...(options.holdUntilQuote !== undefined ? { holdUntilQuote: options.holdUntilQuote } : {}) });
  const targetSid = 'CT-support';
  center.putCallTarget({ sid: targetSid, taskQueueSid: queueSid, callerId: '+18005550100', ...options.target } as CallTargetInput);
  const network = new SimulatedNetwork({ seed: 7, ...options.network });
  const agents = options.agents === null ? undefined : (options.agents ?? simpleAgents({ acceptAfterSeconds: 2, handleSeconds: 120 }));
  const driver = new CallbackDriver({ engine, center, network, ...(agents !== undefined ? { agents } : {}) });
  return { driver, engine, center, network, queueSid, workers, available, offline, engineSids, centerSids, centerSid, targetSid };
}

/** Status history of a callback from the recorded events (`callback.<status>` only, not the notices). */
export function history(driver: CallbackDriver, sid: string): string[] {
  return driver.callbackEvents
    .filter((e) => e.resourceSid === sid && e.data['status'] === e.eventType.slice('callback.'.length))
    .map((e) => e.eventType.slice('callback.'.length));
}

export function cb(w: World, sid: string): CallbackRequest {
  return w.center.getCallback(sid) as CallbackRequest;
}

/** Seconds after T0. */
export function at(seconds: number): number {
  return T0 + seconds * 1000;
}
