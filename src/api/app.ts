/**
 * The HTTP API (DESIGN.md `src/api`): a Fastify app, built but not listening, whose `/v1` routes
 * are wire-compatible with Twilio TaskRouter v1 (shared/specs/taskrouter-semantics.md §0–§2).
 * Handlers are thin: parameters are checked by params.ts, commands go through the runtime
 * (durable before the answer), bodies come from serializers.ts, errors from twilio-errors.ts.
 */
import Fastify, { type FastifyBaseLogger, type FastifyError, type FastifyInstance } from 'fastify';
import formbody from '@fastify/formbody';
import type { Runtime } from '../runtime/runtime.ts';
import { authenticate } from './auth.ts';
import { setAccount, type Api } from './context.ts';
import { activityRoutes } from './routes/activities.ts';
import { createMetrics, metricsRoutes } from './metrics.ts';
import { eventRoutes } from './routes/events.ts';
import { reservationRoutes } from './routes/reservations.ts';
import { statisticsRoutes } from './routes/statistics.ts';
import { taskChannelRoutes } from './routes/task-channels.ts';
import { taskQueueRoutes } from './routes/task-queues.ts';
import { taskRoutes } from './routes/tasks.ts';
import { workerChannelRoutes } from './routes/worker-channels.ts';
import { workerRoutes } from './routes/workers.ts';
import { workflowRoutes } from './routes/workflows.ts';
import { workspaceRoutes } from './routes/workspaces.ts';
import { ApiError, errorBody, internalError, methodNotAllowed, notFound } from './twilio-errors.ts';

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
}

export type RouteRegistrar = (app: FastifyInstance, api: Api) => void;

const REGISTRARS: RouteRegistrar[] = [
  workspaceRoutes,
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
];

export function buildApp(options: BuildAppOptions): FastifyInstance {
  const logger = options.logger ?? false;
  // A workflow configuration may hold 1,038,576 bytes (spec §1.3); form encoding can triple that.
  const bodyLimit = 4 * 1024 * 1024;
  const app = (typeof logger === 'boolean' ? Fastify({ logger, bodyLimit }) : Fastify({ loggerInstance: logger, bodyLimit })) as unknown as FastifyInstance;
  const metrics = createMetrics(options.runtime);
  const api: Api = { runtime: options.runtime, clock: options.clock ?? Date.now, publicBaseUrl: options.publicBaseUrl, observeCommand: metrics.observeCommand };
  const moreInfo = options.moreInfoBase;

  void app.register(formbody);

  // Route patterns by method, to tell 405 from 404.
  const routes: { pattern: RegExp; method: string }[] = [];
  app.addHook('onRoute', (route) => {
    const methods = Array.isArray(route.method) ? route.method : [route.method];
    const pattern = new RegExp(`^${route.url.replace(/:[A-Za-z]+/g, '[^/]+')}/?$`);
    for (const method of methods) routes.push({ pattern, method: String(method) });
  });

  app.addHook('onRequest', async (req) => {
    if (req.url.startsWith('/v1/') || req.url === '/v1') setAccount(req, authenticate(api.runtime, req));
  });

  app.get('/healthz', async () => ({ status: 'ok' }));
  metricsRoutes(app, metrics);

  void app.register(async (v1) => {
    for (const register of REGISTRARS) register(v1, api);
  });

  app.setNotFoundHandler(async (req, reply) => {
    const path = req.url.split('?')[0] ?? req.url;
    const known = routes.filter((r) => r.pattern.test(path));
    const error = known.length > 0 && !known.some((r) => r.method === req.method) ? methodNotAllowed(req.method, path) : notFound(path);
    return reply.code(error.status).send(errorBody(error, moreInfo));
  });

  app.setErrorHandler(async (error: FastifyError | ApiError, req, reply) => {
    let e: ApiError;
    if (error instanceof ApiError) e = error;
    else if (typeof error.statusCode === 'number' && error.statusCode >= 400 && error.statusCode < 500) e = new ApiError(400, 20001, error.message);
    else {
      req.log.error(error);
      e = internalError();
    }
    if (e.status === 401) void reply.header('WWW-Authenticate', 'Basic realm="Switchboard"');
    return reply.code(e.status).send(errorBody(e, moreInfo));
  });

  return app;
}
