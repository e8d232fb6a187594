import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { EngineEvent } from '../engine/events.ts';
import { OccupancyAccumulator } from './traffic.ts';

const H = 3_600_000;
let n = 0;
function ev(eventType: EngineEvent['eventType'], at: number, worker: string, data: Record<string, string> = {}): EngineEvent {
  return {
    sid: `EV${n++}`, eventType, at, resourceType: eventType.startsWith('worker') ? 'worker' : 'reservation', resourceSid: data['rs'] ?? `WK${worker}`,
    data: { worker_sid: `WK${worker}`, worker_name: worker, ...data },
  };
}

test('occupancy by hour of day: split at hour boundaries, busy while any accepted reservation is open, excluded workers left out', () => {
  const day = Date.UTC(1999, 1, 1);
  const acc = new OccupancyAccumulator(['WAavailable'], ['PSEUDO']);
  for (const w of ['ANNA', 'PSEUDO']) {
    acc.observe(ev('worker.activity.update', day + 23.5 * H, w, { worker_activity_sid: 'WAavailable' }));
    // Two calls at once: busy from the first accept to the last completion.
    acc.observe(ev('reservation.accepted', day + 23.75 * H, w, { rs: 'WR1' }));
    acc.observe(ev('reservation.accepted', day + 23.8 * H, w, { rs: 'WR2' }));
    acc.observe(ev('reservation.completed', day + 24 * H, w, { rs: 'WR1' }));
    acc.observe(ev('reservation.completed', day + 24.25 * H, w, { rs: 'WR2' }));
    acc.observe(ev('worker.activity.update', day + 25.5 * H, w, { worker_activity_sid: 'WAoffline' }));
    // Still logged in or busy at the end: not counted.
    acc.observe(ev('worker.activity.update', day + 26 * H, w, { worker_activity_sid: 'WAavailable' }));
    acc.observe(ev('reservation.accepted', day + 26 * H, w, { rs: 'WR3' }));
  }
  const byHour = acc.result();
  assert.equal(byHour.length, 24);
  const seen = byHour.filter((h) => h.loggedInHours > 0 || h.busyHours > 0).map((h) => [h.hour, h.loggedInHours, h.busyHours, h.occupancy]);
  assert.deepEqual(seen, [[0, 1, 0.25, 0.25], [1, 0.5, 0, 0], [23, 0.5, 0.25, 0.5]]);
});
