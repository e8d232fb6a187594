/**
 * `GET /metrics` in the Prometheus text format (prom-client): tasks and reservations by status
 * (counted from the engines at scrape time), the latency of commands from `execute` to their
 * durable acknowledgement, and HTTP requests by method, route and status. Unauthenticated,
 * like /healthz. Each app has its own registry, so several apps may live in one process.
 */
import type { FastifyInstance } from 'fastify';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { ReservationStatus, TaskStatus } from '../engine/index.ts';
import type { Runtime } from '../runtime/runtime.ts';

const TASK_STATUSES: readonly TaskStatus[] = ['pending', 'reserved', 'assigned', 'wrapping', 'completed', 'canceled'];
const RESERVATION_STATUSES: readonly ReservationStatus[] = ['pending', 'accepted', 'rejected', 'timeout', 'canceled', 'rescinded', 'wrapping', 'completed'];

export interface Metrics {
  registry: Registry;
  /** Records one command's latency, `execute` call → acknowledgement, in seconds. */
  observeCommand: (type: string, seconds: number) => void;
  /** HTTP requests answered, by method, route pattern and status. */
  requests: Counter<'method' | 'route' | 'status'>;
}

export function createMetrics(runtime: Runtime): Metrics {
  const registry = new Registry();
  statusGauge(registry, 'switchboard_tasks', 'Tasks held by the engines, by assignment status', TASK_STATUSES, function* () {
    for (const engine of runtime.allWorkspaces()) for (const t of engine.tasks.values()) yield t.assignmentStatus;
  });
  statusGauge(registry, 'switchboard_reservations', 'Reservations held by the engines, by reservation status', RESERVATION_STATUSES, function* () {
    for (const engine of runtime.allWorkspaces()) for (const r of engine.reservations.values()) yield r.reservationStatus;
  });
  new Gauge({
    name: 'switchboard_workspaces',
    help: 'Workspaces held by the runtime',
    registers: [registry],
    collect() {
      this.set(runtime.allWorkspaces().length);
    },
  });
  const commandLatency = new Histogram({
    name: 'switchboard_command_duration_seconds',
    help: 'Time from a command being submitted to the runtime to its durable acknowledgement (group commit included)',
    labelNames: ['command'],
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [registry],
  });
  const requests = new Counter({
    name: 'switchboard_http_requests_total',
    help: 'HTTP requests answered, by method, route pattern and status code',
    labelNames: ['method', 'route', 'status'],
    registers: [registry],
  });
  const metrics: Metrics = {
    registry,
    observeCommand: (type, seconds) => commandLatency.observe({ command: type }, seconds),
    requests,
  };
  return metrics;
}

/**
 * A gauge with a `status` label, counted at scrape time: `statuses()` lists one status per item
 * held; every status in `known` is reported, 0 when none is held.
 */
function statusGauge(registry: Registry, name: string, help: string, known: readonly string[], statuses: () => Iterable<string>): void {
  new Gauge({
    name,
    help,
    labelNames: ['status'],
    registers: [registry],
    collect() {
      const counts = new Map<string, number>(known.map((s) => [s, 0]));
      for (const s of statuses()) counts.set(s, (counts.get(s) ?? 0) + 1);
      for (const [status, n] of counts) this.set({ status }, n);
    },
  });
}

/** Adds the request counter hook and the `/metrics` route to the app. */
export function metricsRoutes(app: FastifyInstance, metrics: Metrics): void {
  const requests = metrics.requests;
  app.addHook('onResponse', async (req, reply) => {
    // The route pattern, not the URL, keeps the label set small; unmatched paths share one label.
    const route = req.routeOptions.url ?? 'unmatched';
    requests.inc({ method: req.method, route, status: String(reply.statusCode) });
  });
  app.get('/metrics', async (_req, reply) => {
    const body = await metrics.registry.metrics();
    return reply.header('Content-Type', metrics.registry.contentType).send(body);
  });
}
