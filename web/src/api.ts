/**
 * The console's client of Switchboard's own REST API (same origin): TaskRouter v1 under `/v1`,
 * HTTP Basic with an Account SID and auth token or an API key SID and secret, form-encoded writes,
 * JSON replies with Twilio's error body (`code`, `message`, `more_info`) on failure.
 */

/** What the console signs in with: an Account SID + auth token, or an API key SID + secret. */
export interface Credentials {
  username: string;
  password: string;
}

/** A refused request: the HTTP status and Twilio's error code and message (which names the field). */
export class ApiError extends Error {
  readonly status: number;
  readonly code: number | null;
  constructor(status: number, code: number | null, message: string) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

export type Form = Record<string, string | number | boolean | undefined>;

/** A Twilio list page: `meta` with paging links, the items under `meta.key`. */
interface Page {
  meta: { key: string; next_page_url: string | null };
  [key: string]: unknown;
}

export class Api {
  private readonly authorization: string;

  /** With credentials (HTTP Basic) or an access token (`Authorization: Bearer`, docs/worker-sdk.md). */
  constructor(auth: Credentials | { token: string }) {
    this.authorization = 'token' in auth ? `Bearer ${auth.token}` : `Basic ${btoa(`${auth.username}:${auth.password}`)}`;
  }

  /** GET `path` (with `query`), parsed JSON; throws {@link ApiError}. */
  get<T>(path: string, query: Form = {}): Promise<T> {
    const qs = encode(query);
    return this.send<T>('GET', qs === '' ? path : `${path}?${qs}`);
  }

  /** POST `form` to `path` (application/x-www-form-urlencoded), parsed JSON reply. */
  post<T>(path: string, form: Form = {}): Promise<T> {
    return this.send<T>('POST', path, encode(form));
  }

  /** DELETE `path`. */
  async remove(path: string): Promise<void> {
    await this.send<unknown>('DELETE', path);
  }

  /** Every item of a Twilio list (follows `next_page_url`, at most `maxPages` pages of 1,000). */
  async list<T>(path: string, query: Form = {}, maxPages = 20): Promise<T[]> {
    const items: T[] = [];
    let page = await this.get<Page>(path, { PageSize: 1000, ...query });
    for (let n = 1; ; n += 1) {
      items.push(...(page[page.meta.key] as T[]));
      if (page.meta.next_page_url === null || n >= maxPages) return items;
      const next = new URL(page.meta.next_page_url, location.origin);
      page = await this.send<Page>('GET', next.pathname + next.search);
    }
  }

  private async send<T>(method: string, path: string, body?: string): Promise<T> {
    // X-Requested-With: a refused sign-in comes back without a Basic challenge (src/api/app.ts), so the browser shows our message, not its own dialog.
    const headers: Record<string, string> = { Authorization: this.authorization, Accept: 'application/json', 'X-Requested-With': 'XMLHttpRequest' };
    if (body !== undefined) headers['Content-Type'] = 'application/x-www-form-urlencoded';
    const res = await fetch(path, { method, headers, body: body ?? null });
    if (res.status === 204) return undefined as T;
    const text = await res.text();
    const json: unknown = text === '' ? null : safeJson(text);
    if (!res.ok) {
      const err = (json ?? {}) as { code?: number; message?: string };
      throw new ApiError(res.status, err.code ?? null, err.message ?? `${method} ${path}: HTTP ${res.status}`);
    }
    return json as T;
  }
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return { message: text };
  }
}

function encode(form: Form): string {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(form)) if (v !== undefined) p.append(k, String(v));
  return p.toString();
}

// ── TaskRouter shapes the console reads (the fields it uses; twilio_taskrouter_v1.json has them all) ──

export interface Workspace {
  sid: string;
  friendly_name: string;
  default_activity_sid: string;
  timeout_activity_sid: string;
}

export interface Activity {
  sid: string;
  friendly_name: string;
  available: boolean;
}

export interface Worker {
  sid: string;
  friendly_name: string;
  activity_sid: string;
  activity_name: string;
  available: boolean;
  attributes: string;
  date_status_changed: string;
}

export interface WorkerChannel {
  worker_sid: string;
  task_channel_unique_name: string;
  assigned_tasks: number;
  configured_capacity: number;
  available: boolean;
}

export interface TaskQueue {
  sid: string;
  friendly_name: string;
  target_workers: string;
  max_reserved_workers: number;
  task_order: string;
}

export interface Workflow {
  sid: string;
  friendly_name: string;
  configuration: string;
  task_reservation_timeout: number;
  date_updated: string;
}

/** `realtime` of GET TaskQueues/Statistics (spec §10). */
export interface QueueRealtime {
  tasks_by_status: Record<'pending' | 'reserved' | 'assigned' | 'wrapping', number>;
  longest_task_waiting_age: number;
  total_available_workers: number;
  total_eligible_workers: number;
  activity_statistics: Array<{ sid: string; friendly_name: string; workers: number }>;
}

export interface QueueStatistics {
  task_queue_sid: string;
  realtime: QueueRealtime;
}

/** A call target of the callbacks API (docs/api-callbacks.md). */
export interface CallTarget {
  sid: string;
  friendly_name: string;
}

/** `GET CallTargets/{CT}/Status`: the offer a caller would get now (ECBT and EWT in seconds). */
export interface CallTargetStatus {
  widget_state: string;
  ecbt: number | null;
  ecbt_phrase: string | null;
  estimated_wait_time: number | null;
  pending_callbacks: number;
}

/** A callback (docs/api-callbacks.md; `current_ecbt` in seconds). */
export interface Callback {
  sid: string;
  call_target_sid: string;
  phone_number: string;
  type: 'asap' | 'scheduled';
  status: string;
  current_ecbt: number | null;
  appointment_time: string | null;
  date_created: string;
}

/** `POST Workspaces/{WS}/AccessTokens` (docs/worker-sdk.md): a minted access token. */
export interface MintedToken {
  token: string;
  identity: string;
  role: 'worker' | 'supervisor' | 'admin';
  worker_sid: string | null;
  expires_at: string;
}

/** `GET Workspaces/{WS}/Tasks/{WT}/Messages`: the task's conversation. */
export interface TaskMessages {
  conversation_sid: string;
  state: 'active' | 'inactive' | 'closed';
  date_inactive: string | null;
  messages: Array<{ index: number; author: string; body: string | null; date_created: string }>;
}

/** A call flow (docs/voice.md): `definition` is the flow document. */
export interface CallFlow {
  sid: string;
  friendly_name: string;
  definition: unknown;
  date_updated: string;
}

/** A phone number routed to a call flow (docs/voice.md). */
export interface PhoneNumber {
  sid: string;
  phone_number: string;
  friendly_name: string | null;
  call_flow_sid: string;
}

/** An API key (`/2010-04-01/Accounts/{AC}/Keys.json`, docs/worker-sdk.md §1); `secret` only in the create answer. */
export interface ApiKey {
  sid: string;
  friendly_name: string;
  date_created: string;
  secret?: string;
}
