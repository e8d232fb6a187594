/**
 * `GET /metrics`: Prometheus text, unauthenticated; task and reservation gauges follow the
 * engines, the command latency histogram counts the writes, HTTP requests are counted by route.
 */
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { startHarness } from './helpers.ts';

const h = await startHarness();
after(() => h.close());

/** The value of one sample line, e.g. `switchboard_tasks{status="pending"}`; undefined if absent. */
function sample(text: string, name: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(name + ' '));
  return line === undefined ? undefined : Number(line.slice(name.length + 1));
}

async function scrape(): Promise<string> {
  const res = await fetch(`${h.base}/metrics`);
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
  return res.text();
}

test('/metrics: task and reservation gauges, command latency, HTTP counters', async () => {
  const tr = h.client.taskrouter.v1;
  const ws = await tr.workspaces.create({ friendlyName: 'Metrics', template: 'FIFO' });
  const available = (await tr.workspaces(ws.sid).activities.list({ friendlyName: 'Available' }))[0]?.sid as string;
  await tr.workspaces(ws.sid).workers.create({ friendlyName: 'Ann', activitySid: available });
  await Promise.all([1, 2, 3].map((n) => tr.workspaces(ws.sid).tasks.create({ attributes: JSON.stringify({ n }) })));

  const text = await scrape();
  assert.match(text, /# TYPE switchboard_tasks gauge/);
  assert.equal(sample(text, 'switchboard_tasks{status="reserved"}'), 1);
  assert.equal(sample(text, 'switchboard_tasks{status="pending"}'), 2);
  assert.equal(sample(text, 'switchboard_tasks{status="completed"}'), 0);
  assert.equal(sample(text, 'switchboard_reservations{status="pending"}'), 1);
  assert.equal(sample(text, 'switchboard_reservations{status="accepted"}'), 0);
  assert.equal(sample(text, 'switchboard_workspaces'), 1);
  assert.match(text, /# TYPE switchboard_command_duration_seconds histogram/);
  assert.equal(sample(text, 'switchboard_command_duration_seconds_count{command="createTask"}'), 3);
  assert.equal(sample(text, 'switchboard_command_duration_seconds_bucket{le="+Inf",command="createTask"}'), 3);
  assert.equal(sample(text, 'switchboard_command_duration_seconds_count{command="createWorker"}'), 1);
  assert.equal(sample(text, 'switchboard_http_requests_total{method="POST",route="/v1/Workspaces/:WorkspaceSid/Tasks",status="201"}'), 3);

  // Unauthenticated, and a 404 is counted under one label rather than its URL.
  await fetch(`${h.base}/nowhere/${'x'.repeat(8)}`);
  const again = await scrape();
  assert.equal(sample(again, 'switchboard_http_requests_total{method="GET",route="unmatched",status="404"}'), 1);
  assert.equal(sample(again, 'switchboard_http_requests_total{method="GET",route="/metrics",status="200"}'), 1);
});
