/**
 * SequentialSids: the SIDs it makes are the prefix, the namespace as 8 hex digits and the counter
 * as 24 hex digits (spec taskrouter-semantics §1.1), whatever its per-block cache of the leading
 * digits holds. The expected SIDs are built here from that definition with `toString(16)`.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isSid, SequentialSids, type SidPrefix } from './sid.ts';

/** The SID that counter value `n` must give, straight from the format. */
function expected(prefix: SidPrefix, namespace: number, n: number): string {
  return prefix + namespace.toString(16).padStart(8, '0') + n.toString(16).padStart(24, '0');
}

test('SIDs follow the counter across blocks of 4,096, with prefixes interleaved', () => {
  const namespace = 0xab12;
  const sids = new SequentialSids(namespace, 4090);
  const prefixes: SidPrefix[] = ['EV', 'WT', 'EV', 'WR', 'EV', 'WK'];
  // 4091 … 8200: through the block change at 4096 and the one at 8192.
  for (let n = 4091; n <= 8200; n++) {
    const prefix = prefixes[n % prefixes.length] as SidPrefix;
    const sid = sids.next(prefix);
    assert.equal(sid, expected(prefix, namespace, n), `counter ${n}`);
    assert.ok(isSid(sid, prefix), sid);
  }
  assert.equal(sids.counter, 8200);
});

test('a generator restarted from a saved counter goes on with the same SIDs', () => {
  const first = new SequentialSids(7);
  const out: string[] = [];
  for (let i = 0; i < 5000; i++) out.push(first.next(i % 3 === 0 ? 'EV' : 'WT'));
  const again = new SequentialSids(7, first.counter);
  const next = again.next('WR');
  assert.equal(next, expected('WR', 7, 5001));
  assert.ok(!out.includes(next));
  assert.equal(new Set(out).size, out.length, 'a SID came out twice');
});

test('counters past 2^32 and the largest namespace keep 32 hex digits', () => {
  const big = 2 ** 40 + 4095;
  const sids = new SequentialSids(0xffffffff, big);
  assert.equal(sids.next('EV'), expected('EV', 0xffffffff, big + 1));
  assert.equal(sids.next('WK'), expected('WK', 0xffffffff, big + 2));
});
