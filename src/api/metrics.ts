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
  new Gauge({
    name: 'switchboard_tasks',
    help: 'Tasks held by the engines, by assignment status',
    labelNames: ['status'],
    registers: [registry],
    collect() {
      const counts = new Map<string, number>(TASK_STATUSES.map((s) => [s, 0]));
      for (const engine of runtime.allWorkspaces()) for (const t of engine.tasks.values()) counts.set(t.assignmentStatus, (counts.get(t.assignmentStatus) ?? 0) + 1);
      for (const [status, n] of counts) this.set({ status }, n);
    },
  });
  new Gauge({
    name: 'switchboard_reservations',
    help: 'Reservations held by the engines, by reservation status',
    labelNames: ['status'],
    registers: [registry],
    collect() {
      const counts = new Map<string, number>(RESERVATION_STATUSES.map((s) => [s, 0]));
      for (const engine of runtime.allWorkspaces()) for (const r of engine.reservations.values()) counts.set(r.reservationStatus, (counts.get(r.reservationStatus) ?? 0) + 1);
      for (const [status, n] of counts) this.set({ status }, n);
    },
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
