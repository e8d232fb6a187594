/**
 * The HTTP API (DESIGN.md `src/api`): a Fastify app, built but not listening, whose `/v1` routes
 * are wire-compatible with Twilio TaskRouter v1 (shared/specs/taskrouter-semantics.md §0–§2).
 * Handlers are thin: parameters are checked by params.ts, commands go through the runtime
 * (durable before the answer), bodies come from serializers.ts, errors from twilio-errors.ts.
 */
import { isUtf8 } from 'node:buffer';
import { createServer, STATUS_CODES, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import Fastify, { type FastifyBaseLogger, type FastifyError, type FastifyInstance } from 'fastify';
import { StoreUnavailableError, type Runtime } from '../runtime/runtime.ts';
import { StatusError } from '../util/status-error.ts';
import { authenticate, authorizeRequest } from './auth.ts';
import { principalOf, setPrincipal, type Api } from './context.ts';
import { keyRoutes } from './routes/keys.ts';
import { accessTokenRoutes } from './routes/access-tokens.ts';
import { isSupervisorSocketPath, supervisorSocketRoutes, type SupervisorSocketOptions } from './routes/supervisor-socket.ts';
import { workerSdkRoutes, WORKER_SDK_PATH, type WorkerSdkOptions } from './routes/worker-sdk.ts';
import { activityRoutes } from './routes/activities.ts';
import { createMetrics, metricsRoutes } from './metrics.ts';
import { eventRoutes } from './routes/events.ts';
import { analyticsRoutes } from './routes/analytics.ts';
import { reservationRoutes } from './routes/reservations.ts';
import { voiceResourceRoutes } from './routes/voice-resources.ts';
import { conversationRoutes } from './routes/conversations.ts';
import { eventStreamRoutes } from './routes/event-streams.ts';
import { interactionRoutes } from './routes/interactions.ts';
import { voiceRoutes } from './routes/voice.ts';
import type { TwilioVoice } from '../voice/twilio-voice.ts';
import type { TwilioMessaging } from '../messaging/twilio-messaging.ts';
import { messagingRoutes } from './routes/messaging.ts';
import { webChatRoutes } from './routes/webchat.ts';
import { consoleRoutes } from './routes/console.ts';
import { taskMessageRoutes } from './routes/task-messages.ts';
import { statisticsRoutes } from './routes/statistics.ts';
import { taskChannelRoutes } from './routes/task-channels.ts';
import { taskQueueRoutes } from './routes/task-queues.ts';
import { taskRoutes } from './routes/tasks.ts';
import { workerChannelRoutes } from './routes/worker-channels.ts';
import { workerRoutes } from './routes/workers.ts';
import { workflowRoutes } from './routes/workflows.ts';
import { workspaceRoutes } from './routes/workspaces.ts';
import { callbackRoutes } from './routes/callbacks.ts';
import { mindfulRoutes } from './routes/callbacks-mindful.ts';
import type { CallbackService } from '../runtime/callback-service.ts';
import { ApiError, errorBody, internalError, serviceUnavailable, methodNotAllowed, notFound } from './twilio-errors.ts';

export interface BuildAppOptions {
  runtime: Runtime;
  /** Origin used in `url`, `links` and paging URLs (e.g. behind a proxy); default: the request's Host. */
  publicBaseUrl?: string;
  /** Fastify logger setting or instance; default off. */
  logger?: boolean | FastifyBaseLogger;
  /** Wall clock for `age` and the like; default Date.now (pass the runtime's clock in tests). */
  clock?: () => number;
  /** Base of `more_info` in error bodies. */
  moreInfoBase?: string;
  /** The callbacks service; when given, its routes are served (routes/callbacks.ts, docs/api-callbacks.md). */
  callbacks?: CallbackService;
  /** Timeouts and the connection cap of the HTTP server (defaults: {@link HTTP_LIMITS}). */
  limits?: Partial<HttpLimits>;
  /**
   * Twilio Programmable Voice's webhooks (`/voice/*`, routes/voice.ts, docs/voice.md): when given,
   * they are served to the runtime's voice core, signatures checked with `authToken` (null: not
   * checked). `twilio`: the Twilio voice adapter, when it is the runtime's port.
   */
  voice?: { twilio: TwilioVoice | null; authToken: string | null };
  /** Twilio Programmable Messaging's webhooks (`/messaging/twilio/*`, routes/messaging.ts): inbound messages to the conversations core. */
  messaging?: { twilio: TwilioMessaging; authToken: string | null };
  /** The public web chat endpoint (`/webchat/v1/*`, routes/webchat.ts): browser origins allowed (default `*`). */
  webchat?: { origins?: '*' | readonly string[] };
  /** The worker SDK's transport at `/v1/wschannels` (routes/worker-sdk.ts): heartbeat and offline grace. */
  workerSdk?: WorkerSdkOptions;
  /** The supervisor WebSocket at `/v1/Workspaces/{WS}/Supervisor/Events` (routes/supervisor-socket.ts): heartbeat, buffer limit. */
  supervisorSocket?: SupervisorSocketOptions;
}

/**
 * What a client may hold of the HTTP server (issue 11 item 3: a slow or idle client must not keep
 * connections, sockets or memory). Times in milliseconds.
 */
export interface HttpLimits {
  /** To receive a request's headers, from the connection's first byte (Node's `headersTimeout`). */
  headersTimeoutMs: number;
  /** To receive a whole request, headers and body (Node's `requestTimeout`). */
  requestTimeoutMs: number;
  /** An idle keep-alive connection is closed after this long. */
  keepAliveTimeoutMs: number;
  /** A connection with no traffic at all is closed after this long (the socket's timeout). */
  idleTimeoutMs: number;
  /** Connections open at once; past it a new connection is closed at once. */
  maxConnections: number;
}

/**
 * A Host header we build URLs from: a DNS name (labels of letters, digits, `-` and `_`), an IPv4
 * address or a bracketed IPv6 address, then an optional port (RFC 3986 §3.2.2–3.2.3, as browsers
 * and proxies send it).
 */
const VALID_HOST = /^(?:[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?(?:\.[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?)*\.?|\[[0-9A-Fa-f:.]+\])(?::\d{1,5})?$/;

/** The default {@link HttpLimits} (the README's configuration table lists them). */
export const HTTP_LIMITS: Readonly<HttpLimits> = {
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 30_000,
  keepAliveTimeoutMs: 5_000,
  idleTimeoutMs: 60_000,
  maxConnections: 2_048,
};

/**
 * Answers a connection-level client error — headers too large (431), a request not received in
 * time (408), a malformed request (400) — in Twilio's error shape on the raw socket, then closes
 * it (spec §2; issue 11 item 6: Node's own replies had no body in that shape).
 */
function clientErrorResponse(error: NodeJS.ErrnoException, socket: Socket, moreInfoBase: string | undefined): void {
  if (error.code === 'ECONNRESET' || !socket.writable) {
    socket.destroy();
    return;
  }
  const status = error.code === 'HPE_HEADER_OVERFLOW' ? 431 : error.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 408 : 400;
  const message = status === 431 ? 'The request headers are too large' : status === 408 ? 'The request was not received in time' : 'The request is malformed';
  const body = JSON.stringify(errorBody(new ApiError(status, 20001, message), moreInfoBase));
  socket.end(`HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
}

/**
 * Most parameters (name=value pairs) one form body may carry. TaskRouter's writes take a handful
 * (repeated names such as `EventsFilter` included); the cap bounds the work a body can ask for
 * before anything else is looked at (issue 11 item 2).
 */
export const MAX_FORM_PARAMETERS = 1_000;

/**
 * Parses an `application/x-www-form-urlencoded` body in one pass over its bytes: `+` is a space,
 * repeated names become arrays in order. Linear in the body's length (a name repeated 2 million
 * times used to take minutes: each repeat copied the array). Throws a 400/20001 {@link ApiError}
 * naming the parameter when a name or value has malformed percent-encoding (`%ZZ`, a truncated
 * `%E0%A4`), when raw bytes are not valid UTF-8 (`0xFF 0xFE` inside `Attributes`), or when the
 * body holds more than {@link MAX_FORM_PARAMETERS} parameters.
 */
function parseForm(body: Buffer): Record<string, string | string[]> {
  if (!isUtf8(body)) throw invalidUtf8(body);
  const text = body.toString('utf8');
  const out: Record<string, string | string[]> = Object.create(null) as Record<string, string | string[]>;
  let count = 0;
  for (let start = 0; start <= text.length; ) {
    let end = text.indexOf('&', start);
    if (end < 0) end = text.length;
    if (end > start) {
      count += 1;
      if (count > MAX_FORM_PARAMETERS) throw new ApiError(400, 20001, `The form body has more than ${MAX_FORM_PARAMETERS} parameters`);
      const pair = text.slice(start, end);
      const eq = pair.indexOf('=');
      const key = decodeFormPart(eq < 0 ? pair : pair.slice(0, eq), undefined);
      const value = decodeFormPart(eq < 0 ? '' : pair.slice(eq + 1), key);
      const prev = out[key];
      if (prev === undefined) out[key] = value;
      else if (Array.isArray(prev)) prev.push(value);
      else out[key] = [prev, value];
    }
    start = end + 1;
  }
  return out;
}

/** The 400 for a body whose raw bytes are not UTF-8, naming the first parameter that holds such bytes. */
function invalidUtf8(body: Buffer): ApiError {
  let start = 0;
  while (start <= body.length) {
    let end = body.indexOf(0x26, start); // '&'
    if (end < 0) end = body.length;
    const pair = body.subarray(start, end);
    if (!isUtf8(pair)) {
      const eq = pair.indexOf(0x3d); // '='
      const name = (eq < 0 ? pair : pair.subarray(0, eq)).toString('utf8');
      const key = isUtf8(eq < 0 ? pair : pair.subarray(0, eq)) ? safeDecode(name) : null;
      return new ApiError(400, 20001, key === null ? 'The form body is malformed: a parameter name is not UTF-8' : `The form body is malformed: parameter ${key} is not UTF-8`, key ?? undefined);
    }
    start = end + 1;
  }
  return new ApiError(400, 20001, 'The form body is not UTF-8');
}

/** A form part decoded, or its raw text when its percent-encoding is malformed (for messages only). */
function safeDecode(raw: string): string {
  try {
    return decodeURIComponent(raw.replace(/\+/g, ' '));
  } catch {
    return raw.slice(0, 40);
  }
}

/** The 415/20001 answer to a body of media type `type` ('' when the request named none); spec §2: writes are form-encoded. */
function unsupportedMediaType(type: string): ApiError {
  return new ApiError(415, 20001, `Content-Type '${type || 'none'}' is not supported here: send the parameters as application/x-www-form-urlencoded`, 'Content-Type');
}

function decodeFormPart(raw: string, key: string | undefined): string {
  try {
    return decodeURIComponent(raw.replace(/\+/g, ' '));
  } catch {
    const what = key === undefined ? `a parameter name ('${raw.slice(0, 40)}')` : `parameter ${key}`;
    throw new ApiError(400, 20001, `The form body is malformed: ${what} has invalid percent-encoding or is not UTF-8`, key);
  }
}

/** Whether `url` is the worker SDK's endpoint or the supervisor socket (their own body parsing and token handling). */
function isWorkerSdkPath(url: string): boolean {
  return url === WORKER_SDK_PATH || url.startsWith(`${WORKER_SDK_PATH}?`) || url.startsWith(`${WORKER_SDK_PATH}/`) || isSupervisorSocketPath(url);
}

export type RouteRegistrar = (app: FastifyInstance, api: Api) => void;

const REGISTRARS: RouteRegistrar[] = [
  workspaceRoutes,
  taskMessageRoutes,
  activityRoutes,
  taskChannelRoutes,
  taskQueueRoutes,
  workflowRoutes,
  workerRoutes,
  workerChannelRoutes,
  taskRoutes,
  reservationRoutes,
  eventRoutes,
  statisticsRoutes,
  voiceResourceRoutes,
  conversationRoutes,
  interactionRoutes,
  eventStreamRoutes,
  analyticsRoutes,
  accessTokenRoutes,
];

export function buildApp(options: BuildAppOptions): FastifyInstance {
  const logger = options.logger ?? false;
  // A workflow configuration may hold 1,038,576 bytes (spec §1.3); form encoding can triple that.
  const bodyLimit = 4 * 1024 * 1024;
  const limits: HttpLimits = { ...HTTP_LIMITS, ...options.limits };
  // Node's own server, so that every limit is set where Node enforces it; the timeouts are checked
  // at a quarter of the shortest one (Node's default check runs every 30 s).
  const serverFactory = (handler: (req: IncomingMessage, res: ServerResponse) => void) => {
    const server = createServer(
      {
        headersTimeout: limits.headersTimeoutMs,
        requestTimeout: limits.requestTimeoutMs,
        keepAliveTimeout: limits.keepAliveTimeoutMs,
        connectionsCheckingInterval: Math.max(50, Math.min(5_000, Math.floor(Math.min(limits.headersTimeoutMs, limits.requestTimeoutMs) / 4))),
      },
      handler,
    );
    server.maxConnections = limits.maxConnections;
    server.setTimeout(limits.idleTimeoutMs, (socket) => socket.destroy());
    return server;
  };
  const clientErrorHandler = (error: Error, socket: Socket): void => clientErrorResponse(error as NodeJS.ErrnoException, socket, options.moreInfoBase);
  // The router's own refusals, answered on the raw response in Twilio's shape too: a path segment
  // longer than any SID we serve (414), a malformed path (400).
  const rawError = (status: number, message: string) => (_path: string, _req: IncomingMessage, res: ServerResponse): void => {
    const body = JSON.stringify(errorBody(new ApiError(status, 20001, message), options.moreInfoBase));
    res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) }).end(body);
  };
  const routerOptions = {
    maxParamLength: 200,
    onMaxParamLength: rawError(414, 'A path segment is longer than 200 characters'),
    onBadUrl: rawError(400, 'The request path is malformed'),
  };
  const base = { bodyLimit, serverFactory, clientErrorHandler, routerOptions };
  const app = (typeof logger === 'boolean' ? Fastify({ logger, ...base }) : Fastify({ loggerInstance: logger, ...base })) as unknown as FastifyInstance;
  const metrics = createMetrics(options.runtime);
  const api: Api = { runtime: options.runtime, clock: options.clock ?? Date.now, publicBaseUrl: options.publicBaseUrl, observeCommand: metrics.observeCommand };
  const moreInfo = options.moreInfoBase;

  // Form bodies (spec §2), parsed strictly: malformed percent-encoding or invalid UTF-8 is a 400
  // naming the parameter, never a value silently kept as typed.
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'buffer' }, (_req, body, done) => {
    try {
      done(null, parseForm(body as Buffer));
    } catch (error) {
      done(error as Error, undefined);
    }
  });
  // Writes under /v1 are form-encoded (spec §0, §2); the one JSON endpoint is the bulk queue
  // statistics. Any other body type is refused (415) before a handler can read a half-parsed body.
  app.addHook('preHandler', async (req) => {
    if (isWorkerSdkPath(req.url)) return;
    // An access token acts only where its grant allows (auth.ts authorizeGrant).
    if (req.url.startsWith('/v1/')) authorizeRequest(api.runtime, req, principalOf(req));
    if (req.method !== 'POST' || !req.url.startsWith('/v1/')) return;
    const type = String(req.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
    const length = Number(req.headers['content-length'] ?? 0);
    if (type === '' && (length === 0 || Number.isNaN(length))) return;
    if (type === 'application/x-www-form-urlencoded') return;
    if (type === 'application/json' && /\/TaskQueues\/RealTimeStatistics\/?(\?|$)/.test(req.url)) return;
    throw unsupportedMediaType(type);
  });

  // Route patterns by method, to tell 405 from 404.
  const routes: { pattern: RegExp; method: string }[] = [];
  app.addHook('onRoute', (route) => {
    const methods = Array.isArray(route.method) ? route.method : [route.method];
    const pattern = new RegExp(`^${route.url.replace(/:[A-Za-z]+/g, '[^/]+')}/?$`);
    for (const method of methods) routes.push({ pattern, method: String(method) });
  });

  // Before any body is read: an unknown route is answered 404/405 at once, and /v1 refuses a
  // request without valid credentials (issue 11 item 2: bodies were parsed first, even on a 404).
  app.addHook('onRequest', async (req) => {
    // The Host header becomes part of every URL we return (url, links, next_page_url) unless
    // --public-base-url is set: take only a well-formed host[:port] (issue 11 item 8).
    const host = req.headers.host;
    if (host !== undefined && !VALID_HOST.test(host)) throw new ApiError(400, 20001, 'The Host header is not a valid host[:port]', 'Host');
    if (req.routeOptions.url === undefined) throw routeError(req.method, req.url);
    // The worker SDK's envelope and socket carry their access token themselves (routes/worker-sdk.ts).
    if (isWorkerSdkPath(req.url)) return;
    if (req.url.startsWith('/v1/') || req.url === '/v1' || req.url.startsWith('/2010-04-01/')) setPrincipal(req, authenticate(api.runtime, req, api.clock()));
  });

  app.get('/healthz', async () => ({ status: 'ok' }));
  metricsRoutes(app, metrics);

  if (options.voice !== undefined) {
    voiceRoutes(app, { inbound: options.runtime.voice, twilio: options.voice.twilio, authToken: options.voice.authToken, ...(options.publicBaseUrl === undefined ? {} : { publicUrl: options.publicBaseUrl }), now: api.clock });
  }

  if (options.messaging !== undefined) {
    messagingRoutes(app, { twilio: options.messaging.twilio, authToken: options.messaging.authToken, ...(options.publicBaseUrl === undefined ? {} : { publicUrl: options.publicBaseUrl }) });
  }

  // The web chat a customer's browser uses: public (a session token, no account credentials).
  webChatRoutes(app, { conversations: options.runtime.conversations, ...(options.webchat?.origins === undefined ? {} : { origins: options.webchat.origins }) });

  keyRoutes(app, api);
  workerSdkRoutes(app, api, options.workerSdk ?? {});
  supervisorSocketRoutes(app, api, options.supervisorSocket ?? {});

  // The web console: static files, public (it signs in against the API like any client).
  consoleRoutes(app);

  void app.register(async (v1) => {
    for (const register of REGISTRARS) register(v1, api);
    if (options.callbacks !== undefined) {
      callbackRoutes(v1, api, options.callbacks);
      mindfulRoutes(v1, api, options.callbacks);
    }
  });

  /** 405 when the path is served with other methods, else 404 (spec §2). */
  const routeError = (method: string, url: string): ApiError => {
    const path = url.split('?')[0] ?? url;
    const known = routes.filter((r) => r.pattern.test(path));
    return known.length > 0 && !known.some((r) => r.method === method) ? methodNotAllowed(method, path) : notFound(path);
  };
  app.setNotFoundHandler(async (req, reply) => {
    const error = routeError(req.method, req.url);
    return reply.code(error.status).send(errorBody(error, moreInfo));
  });

  app.setErrorHandler(async (error: FastifyError | ApiError | StatusError, req, reply) => {
    let e: ApiError;
    if (error instanceof ApiError) e = error;
    // A core's refusal (conversations, voice, Event Streams, API keys …) carries its own status, code and field.
    else if (error instanceof StatusError) e = new ApiError(error.status, error.code, error.message, error.field ?? undefined);
    else if (typeof error.statusCode === 'number' && error.statusCode >= 400 && error.statusCode < 500) {
      // Fastify's own refusals keep their status (413 body too large, 414 a path segment too long, 415 media type), in Twilio's shape.
      if (error.statusCode === 413) e = new ApiError(413, 20001, `The request body is larger than the limit of ${bodyLimit} bytes`);
      else if (error.statusCode === 415) e = unsupportedMediaType(String(req.headers['content-type'] ?? ''));
      else e = new ApiError(error.statusCode, 20001, error.message);
    }
    else if (error instanceof StoreUnavailableError) {
      req.log.error(error);
      e = serviceUnavailable();
    } else {
      req.log.error(error);
      e = internalError();
    }
    // A script's request (the console sends X-Requested-With, the convention for it) gets no
    // challenge: a browser would answer one with its own sign-in dialog instead of our page's.
    if (e.status === 401 && req.headers['x-requested-with'] !== 'XMLHttpRequest') void reply.header('WWW-Authenticate', 'Basic realm="Switchboard"');
    // A refused request whose body was never read (401, 404/405 before routing, 413, 415 …): the
    // connection is closed after the answer rather than kept alive, which would mean reading and
    // throwing away the whole body first (up to 4 MiB a request, for anyone who can connect).
    if (req.body === undefined && (req.headers['content-length'] !== undefined || req.headers['transfer-encoding'] !== undefined)) void reply.header('connection', 'close');
    return reply.code(e.status).send(errorBody(e, moreInfo));
  });

  return app;
}
