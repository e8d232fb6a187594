import { test } from 'node:test';
import assert from 'node:assert/strict';
import { resolveCallTarget, openingAt } from './call-target.ts';
import { CallbackError, normalizeNumber } from './errors.ts';
import { computeEcbt, decideOffer, ecbtRange, rangePhrase, rescheduleChoices, waitPhrase } from './offer.ts';

const WQ = 'WQ' + '0'.repeat(31) + '1';
const target = (extra: Record<string, unknown> = {}) => resolveCallTarget({ sid: 'CT1', taskQueueSid: WQ, ...extra });

test('call target: defaults of spec §1.4 and errors naming the field', () => {
  const t = target();
  assert.equal(t.strategy, 'customer_first');
  assert.equal(t.retry.maxRetries, 2);
  assert.deepEqual(t.retry.delaySeconds, { noAnswer: 300, busy: 120, voicemail: 600, notReady: 600, agentLeg: 30 });
  assert.equal(t.returnPriority, 5);
  assert.equal(t.quote.capSeconds, 600);
  const bad = (extra: Record<string, unknown>, field: string) =>
    assert.throws(() => target(extra), (e: unknown) => e instanceof CallbackError && e.code === 'InvalidParameters' && e.field === field);
  bad({ retry: { maxRetries: -1 } }, 'retry.maxRetries');
  bad({ retry: { delaySeconds: { busy: 0 } } }, 'retry.delaySeconds.busy');
  bad({ strategy: 'robot' }, 'strategy');
  bad({ color: 'red' }, 'color');
  bad({ offer: { minEwt: 3 } }, 'offer.minEwt');
  bad({ hoursOfOperation: [{ day: 1, openMinute: 600, closeMinute: 500 }] }, 'hoursOfOperation[0].closeMinute');
  assert.throws(() => resolveCallTarget({ sid: 'x', taskQueueSid: 'WQ12' }), /taskQueueSid/);
  // an update keeps what it does not change
  const u = resolveCallTarget({ sid: 'CT1', taskQueueSid: WQ, retry: { maxRetries: 4 } }, t);
  assert.equal(u.retry.maxRetries, 4);
  assert.equal(u.retry.delaySeconds.noAnswer, 300);
});

test('E.164 normalization', () => {
  assert.equal(normalizeNumber('+1 (415) 555-0100'), '+14155550100');
  assert.equal(normalizeNumber('0044 20 7946 0000'), '+442079460000');
  assert.equal(normalizeNumber('14155550100'), '+14155550100');
  assert.throws(() => normalizeNumber('+0123'), (e: unknown) => e instanceof CallbackError && e.code === 'InvalidContact');
  assert.throws(() => normalizeNumber('+1234567890123456'), /E\.164/);
  assert.throws(() => normalizeNumber(''), (e: unknown) => e instanceof CallbackError && e.code === 'ContactRequired');
});

test('opening hours in UTC', () => {
  // 2026-11-23 is a Monday
  const monday9 = Date.UTC(2026, 10, 23, 9, 0);
  const t = target({ hoursOfOperation: [{ day: 1, openMinute: 8 * 60, closeMinute: 17 * 60 }] });
  assert.deepEqual(openingAt(t, monday9), { open: true, closesAt: Date.UTC(2026, 10, 23, 17), opensAt: Date.UTC(2026, 10, 23, 8) });
  const after = openingAt(t, Date.UTC(2026, 10, 23, 18));
  assert.equal(after.open, false);
  assert.equal(after.opensAt, Date.UTC(2026, 10, 30, 8));
});

test('phrases: about N minutes, more than 10 minutes at the cap, ranges round up (§9.9)', () => {
  assert.equal(waitPhrase(230, 600), 'about 4 minutes');
  assert.equal(waitPhrase(181, 600), 'about 4 minutes');
  assert.equal(waitPhrase(20, 600), 'about 1 minute');
  assert.equal(waitPhrase(600, 600), 'more than 10 minutes');
  assert.equal(waitPhrase(5000, 600), 'more than 10 minutes');
  assert.deepEqual(ecbtRange(450), { lowMinutes: 8, highMinutes: 10 });
  assert.equal(rangePhrase(421), 'between 8 and 10 minutes');
  assert.deepEqual(ecbtRange(30 * 60 + 1), { lowMinutes: 31, highMinutes: 38 });
});

test('reschedule menu at ECBT 34 min reads only 40–90 (§9.6)', () => {
  assert.deepEqual(rescheduleChoices(34 * 60), [40, 50, 60, 70, 80, 90]);
  assert.deepEqual(rescheduleChoices(33 * 60 + 10), [40, 50, 60, 70, 80, 90]);
  assert.deepEqual(rescheduleChoices(0), [10, 20, 30, 40, 50, 60, 70, 80, 90]);
});

test('offer decision: every widget state of §1.5 / §4', () => {
  const now = Date.UTC(2026, 10, 23, 12);
  const ok = { now, ewtSeconds: 300, ecbtSeconds: 400, pendingCallbacks: 0, staffedWorkers: 3, channel: 'api' as const };
  const d = decideOffer(target(), ok);
  assert.equal(d.widgetState, 'offer_callback');
  assert.equal(d.phrase, 'about 5 minutes');
  assert.equal(d.ecbtPhrase, 'between 7 and 9 minutes');
  assert.equal(decideOffer(target(), { ...ok, channel: 'voice' }).widgetState, 'offer_asap_callback');
  assert.equal(decideOffer(target(), { ...ok, ewtSeconds: 60 }).widgetState, 'display_ewt_only');
  assert.equal(decideOffer(target(), { ...ok, ewtSeconds: 60 }).reason, 'ewt_below_threshold');
  assert.equal(decideOffer(target({ maxRequestedCallbacks: 2 }), { ...ok, pendingCallbacks: 2 }).widgetState, 'display_ewt_only');
  assert.equal(decideOffer(target(), { ...ok, staffedWorkers: 0 }).widgetState, 'offer_scheduled_callback');
  assert.equal(decideOffer(target(), { ...ok, staffedWorkers: 0, channel: 'voice' }).widgetState, 'display_ewt_only');
  assert.equal(decideOffer(target(), { ...ok, ecbtSeconds: 4000 }).reason, 'ecbt_above_max');
  assert.equal(decideOffer(target({ registerCallbacks: false }), ok).reason, 'registration_off');
  // open until 12:10: an ECBT of 400 s + 300 s margin does not fit
  const closing = target({ hoursOfOperation: [{ day: 1, openMinute: 0, closeMinute: 12 * 60 + 10 }] });
  assert.equal(decideOffer(closing, ok).reason, 'not_returnable_before_close');
  assert.equal(decideOffer(closing, { ...ok, ecbtSeconds: 200 }).reason, 'eligible');
  assert.equal(decideOffer(target({ quote: { capSeconds: 600 } }), { ...ok, ewtSeconds: 900 }).phrase, 'more than 10 minutes');
});

test('ECBT: QLm with live-only abandonment, fallbacks, delay and factor', () => {
  const base = { position: 4, liveAhead: 4, busyServers: 2, idleServers: 0, staffed: 2, muPerSecond: 1 / 200, thetaPerSecond: 0, answerRatePerSecond: 0, minimumDelaySeconds: 0, leadTimeSeconds: 0, factor: 1 };
  // QL: (n+1)/(sμ) = 5 / 0.01 = 500
  assert.equal(Math.round(computeEcbt(base).seconds), 500);
  const withAbandon = computeEcbt({ ...base, thetaPerSecond: 0.003 }).seconds;
  assert.ok(withAbandon < 500);
  // virtual callers ahead do not abandon
  assert.equal(Math.round(computeEcbt({ ...base, thetaPerSecond: 0.003, liveAhead: 0 }).seconds), 500);
  assert.equal(computeEcbt({ ...base, idleServers: 5 }).method, 'free_agent');
  assert.equal(computeEcbt({ ...base, muPerSecond: 0, answerRatePerSecond: 0.01 }).seconds, 500);
  assert.equal(computeEcbt({ ...base, muPerSecond: 0 }).seconds, (5 * 180) / 2);
  assert.equal(Math.round(computeEcbt({ ...base, minimumDelaySeconds: 600, leadTimeSeconds: 35, factor: 2 }).seconds), 1270);
});
