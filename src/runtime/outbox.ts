/**
 * What a committed command owes to the outside world (DESIGN.md rule 3): pure functions from the
 * engine's events to outbox rows, written in the same transaction as the command. A row's payload
 * is everything the dispatcher needs to send it later, even after a restart: the URL(s) and the
 * form parameters (spec §8, §9.2) as strings.
 */
import { describeEvent, type EngineEvent, type EventValue, type WorkspaceEngine } from '../engine/index.ts';
import { instructionEventData } from './instructions.ts';

/**
 * The kinds of outbox rows: webhooks (`event`, `assignment`, delivered over HTTP by src/webhooks),
 * and effects of the hosted cores that leave the process through a port (`dial`, `hangup`: the
 * callback core's calls, {@link DialPayload} / {@link HangupPayload}; `voice.connect`,
 * `voice.hangup`: the voice core's worker legs, a ConnectRequest / HangupRequest of
 * src/callflows/voice-port.ts), delivered by the same dispatcher through an {@link OutboxDeliverer}.
 */
export type OutboxKind = 'event' | 'assignment' | 'dial' | 'hangup' | 'voice.connect' | 'voice.hangup' | 'stream.webhook';

/**
 * The payload of a `dial` row: the telephony port's dial request, whose `key`
 * (`<callback sid>:<attempt>`) is the idempotency key, decided by the callback center before the
 * commit and kept across retries and restarts.
 */
export interface DialPayload {
  key: string;
  callbackSid: string;
  /** E.164 number to call. */
  to: string;
  /** Caller ID (E.164), or null for the port's default. */
  from: string | null;
  /** Seconds to let it ring. */
  ringTimeoutSeconds: number;
}

/** The payload of a `hangup` row: end the call of dial `key`, if it is still up. */
export interface HangupPayload {
  key: string;
  callbackSid: string;
}

/** An outbox row as handed to its {@link OutboxDeliverer}. */
export interface OutboxDelivery {
  /** The row's id (increasing in commit order). */
  id: number;
  workspaceSid: string;
  kind: string;
  /** The row's payload as written (JSON). */
  payload: string;
  /** Attempts made before this one. */
  attempts: number;
}

/**
 * How the dispatcher delivers an outbox kind that does not go out as an HTTP webhook (a port's
 * effect). The composition root hands these to the dispatcher (`DispatcherOptions.deliverers`), so
 * src/webhooks needs no core's port; the callback hosting builds the ones for `dial` and `hangup`.
 */
export interface OutboxDeliverer {
  /**
   * The destination: a workspace's rows of kinds with the same destination share one lane (its
   * bound on deliveries in flight, its order; e.g. `telephony` for dials and hang-ups).
   */
  destination: string;
  /**
   * `at-most-once`: the dispatcher takes the row durably (`Store.takeOutbox`) before `deliver` is
   * called, so a crash never delivers it twice (and may leave it never delivered: the core must
   * time such a delivery out). `at-least-once`: marked done after `deliver` resolved, delivered
   * again after a crash before that.
   */
  guarantee: 'at-most-once' | 'at-least-once';
  /**
   * Rows of one lane with the same order key are delivered one after another, in outbox order (a
   * hang-up never overtakes the dial of its key); null: no order with other rows.
   */
  orderKey(delivery: OutboxDelivery): string | null;
  /**
   * Delivers the row. Resolves once it is handed over (or found no longer wanted); rejects when it
   * was NOT handed over (e.g. a port that threw before placing the call): the dispatcher then retries
   * it with backoff and jitter, up to its retries. `now`: the dispatcher's clock, epoch ms. `signal`
   * aborts when the dispatcher stops (a deliverer holding work may give it up: the row stays).
   */
  deliver(delivery: OutboxDelivery, now: number, signal?: AbortSignal): Promise<void>;
  /**
   * Optional retry policy of the kind: whether the failed attempt `attempts` (counting it) of the
   * row is the last one (no retry follows). Default: after the dispatcher's `deliveryRetries`.
   */
  isFinal?(delivery: OutboxDelivery, attempts: number, now: number): boolean;
  /** Optional: the longest delay between two attempts, in ms (the doubling backoff stops growing there). Default: no cap. */
  maxBackoffMs?: number;
  /**
   * Optional: deliveries of one lane (workspace and destination) in flight at most, when the kind
   * needs more than the dispatcher's `maxDeliveriesPerDestination` (a stream sink batching 100
   * events per request). Default: that bound.
   */
  maxInFlight?: number;
}

/**
 * Who caused a command, as the API and the dispatcher pass it to `runtime.execute` (stored as the
 * `origin` of each event the command produces). Absent for timer-driven commands. The Event
 * resource's `actor_*` and `source_ip_address` come from it (spec §9.3).
 */
export interface EventOrigin {
  /** `account` (Basic auth with the Account SID), `api_key` (an SK key) or `workflow` (its assignment callback's instruction). */
  actor: { sid: string; type: 'account' | 'api_key' | 'workflow' };
  /** The caller's IP address, for REST requests. */
  ip?: string;
  /** An assignment instruction carried by the command (spec §8), recorded with its parameters. */
  instruction?: { instruction: string; parameters: Record<string, string> };
}

/**
 * An event as stored: the engine's event plus the {@link EventOrigin} of the command that caused
 * it (the runtime attaches it; absent for timer-driven commands).
 */
export type StoredEvent = EngineEvent & { origin?: EventOrigin };

/** The origin stored on an event, if any. */
export function originOf(e: EngineEvent): EventOrigin | undefined {
  return (e as StoredEvent).origin;
}

/** Event data that records an instruction: only on the reservation's own events. */
export function instructionDataOf(e: EngineEvent): Record<string, string> {
  const instruction = originOf(e)?.instruction;
  return instruction === undefined || e.resourceType !== 'reservation' ? {} : instructionEventData(instruction);
}

export interface OutboxRowInput {
  kind: OutboxKind;
  payload: string;
  dueAt: number;
}

/** The stored payload of an outbox row. */
export interface WebhookPayload {
  accountSid: string;
  url: string;
  /** Assignment callbacks: called once when `url` fails. */
  fallbackUrl?: string;
  /** De-duplication id sent as `I-Twilio-Idempotency-Token` (stable across retries and restarts). */
  idempotencyToken: string;
  params: Record<string, string>;
}

/** `task_queue_sid` → `TaskQueueSid`. */
export function pascalCase(snake: string): string {
  return snake
    .split('_')
    .map((part) => part.charAt(0).toUpperCase() + part.slice(1))
    .join('');
}

const wire = (v: EventValue): string => String(v);

/** Whether an event type passes a workspace's `events_filter` (comma list; empty or null: all). */
export function passesFilter(filter: string | null, eventType: string): boolean {
  if (filter === null) return true;
  const types = filter
    .split(',')
    .map((t) => t.trim())
    .filter((t) => t !== '');
  return types.length === 0 || types.includes(eventType);
}

/** Event callback parameters (spec §9.2). Null data values are left out. */
export function eventCallbackParams(accountSid: string, e: EngineEvent): Record<string, string> {
  const params: Record<string, string> = {};
  for (const [key, value] of Object.entries(e.data)) if (value !== null) params[pascalCase(key)] = wire(value);
  for (const [key, value] of Object.entries(instructionDataOf(e))) params[pascalCase(key)] = value;
  Object.assign(params, {
    Sid: e.sid,
    EventType: e.eventType,
    AccountSid: accountSid,
    EventDescription: describeEvent(e),
    ResourceType: e.resourceType,
    ResourceSid: e.resourceSid,
    Timestamp: String(Math.floor(e.at / 1000)),
    TimestampMs: String(e.at),
  });
  params['WorkspaceSid'] ??= String(e.data['workspace_sid'] ?? '');
  params['WorkspaceName'] ??= String(e.data['workspace_name'] ?? '');
  return params;
}

const ASSIGNMENT_FIELDS = [
  'workspace_sid', 'workflow_sid', 'task_queue_sid', 'task_sid', 'task_attributes', 'task_age', 'task_priority',
  'worker_sid', 'worker_attributes', 'reservation_sid', 'task_channel_sid', 'task_channel_unique_name', 'worker_name',
] as const;

/** Assignment callback parameters (spec §8), from a `reservation.created` event. */
export function assignmentCallbackParams(accountSid: string, e: EngineEvent): Record<string, string> {
  const params: Record<string, string> = { AccountSid: accountSid };
  for (const key of ASSIGNMENT_FIELDS) {
    const value = e.data[key];
    if (value !== undefined && value !== null) params[pascalCase(key)] = wire(value);
  }
  params['Timestamp'] = String(Math.floor(e.at / 1000));
  return params;
}

/** The outbox rows a command's events queue, given the engine state after the command. */
export function outboxRows(engine: WorkspaceEngine, accountSid: string, events: readonly EngineEvent[], now: number): OutboxRowInput[] {
  const rows: OutboxRowInput[] = [];
  const { eventCallbackUrl, eventsFilter } = engine.workspace;
  for (const e of events) {
    if (e.eventType === 'reservation.created') {
      const workflow = engine.workflows.get(String(e.data['workflow_sid'] ?? ''));
      const url = workflow?.assignmentCallbackUrl ?? null;
      if (url !== null && url !== '') {
        const payload: WebhookPayload = {
          accountSid,
          url,
          idempotencyToken: `${e.sid}-assignment`,
          params: assignmentCallbackParams(accountSid, e),
        };
        const fallback = workflow?.fallbackAssignmentCallbackUrl ?? null;
        if (fallback !== null && fallback !== '') payload.fallbackUrl = fallback;
        rows.push({ kind: 'assignment', payload: JSON.stringify(payload), dueAt: now });
      }
    }
    if (eventCallbackUrl !== null && eventCallbackUrl !== '' && passesFilter(eventsFilter, e.eventType)) {
      const payload: WebhookPayload = { accountSid, url: eventCallbackUrl, idempotencyToken: e.sid, params: eventCallbackParams(accountSid, e) };
      rows.push({ kind: 'event', payload: JSON.stringify(payload), dueAt: now });
    }
  }
  return rows;
}
