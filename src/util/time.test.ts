import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { isoInstant, utcWeekday } from './time.ts';

const LIMIT = 8.64e15;

test('isoInstant writes what Date.prototype.toISOString writes, over the whole range of Date', () => {
  for (const ms of [0, -1, 1, 918_379_800_000, -62_167_219_200_000, -62_167_219_200_001, 253_402_300_799_999, 253_402_300_800_000, LIMIT, -LIMIT, 951_782_400_000, 1.5, -1.5]) {
    assert.equal(isoInstant(ms), new Date(ms).toISOString(), String(ms));
  }
  fc.assert(fc.property(fc.integer({ min: -LIMIT, max: LIMIT }), (ms) => isoInstant(ms) === new Date(ms).toISOString()), { numRuns: 20_000 });
  fc.assert(fc.property(fc.integer({ min: -1e13, max: 1e13 }), (ms) => isoInstant(ms) === new Date(ms).toISOString()), { numRuns: 20_000 });
});

test('isoInstant refuses what Date refuses', () => {
  for (const ms of [NaN, Infinity, -Infinity, LIMIT + 1, -LIMIT - 1]) {
    assert.throws(() => new Date(ms).toISOString(), RangeError);
    assert.throws(() => isoInstant(ms), RangeError);
  }
});

test('utcWeekday is Date.prototype.getUTCDay', () => {
  fc.assert(fc.property(fc.integer({ min: -LIMIT, max: LIMIT }), (ms) => utcWeekday(ms) === new Date(ms).getUTCDay()), { numRuns: 20_000 });
  assert.equal(utcWeekday(0), 4);
  assert.equal(utcWeekday(-1), 3);
});
