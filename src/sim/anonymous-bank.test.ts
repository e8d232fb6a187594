import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { ANONYMOUS_BANK_COLUMNS, ImportError, importAnonymousBank, parseRow } from './anonymous-bank.ts';

const HEADER = ANONYMOUS_BANK_COLUMNS.join('\t');
const dir = mkdtempSync(join(tmpdir(), 'switchboard-import-'));
let n = 0;
function file(lines: string[]): string {
  const path = join(dir, `log-${n++}.tsv`);
  writeFileSync(path, `${lines.join('\n')}\n`);
  return path;
}
const row = (fields: string): string[] => fields.split(' ');

describe('importAnonymousBank', () => {
  test('a served queued call: instants, wait and service', async () => {
    const r = await importAnonymousBank(
      file([HEADER, 'AA0101\t34536\t1234\t2\tPS\t990201\t8:19:40\t8:19:47\t7\t8:19:47\t8:20:21\t34\tAGENT\t8:20:20\t8:22:04\t104\tMICHAL']),
    );
    assert.equal(r.rows, 1);
    assert.equal(r.malformed.length, 0);
    const c = r.calls[0];
    assert.ok(c !== undefined);
    assert.equal(c.key, 'AA0101-34536');
    assert.equal(c.date, '1999-02-01');
    assert.equal(c.askedAt, Date.UTC(1999, 1, 1, 8, 19, 47));
    assert.equal(c.waitS, 34);
    assert.equal(c.serviceS, 104);
    assert.equal(c.server, 'MICHAL');
    assert.equal(c.priority, 2);
    assert.deepEqual(c.anomalies, []);
  });

  test('malformed rows are skipped with line number and reason; the rest is imported', async () => {
    const r = await importAnonymousBank(
      file([
        HEADER,
        'AA0101\t1\t0\t0\tPS\t990201\t7:02:47\t7:02:56\t9\t0:00:00\t0:00:00\t0\tAGENT\t7:02:55\t7:05:41\t166\tDORIT',
        'AA0101\t2\t0\t7\tPS\t990201\t7:02:47\t7:02:56\t9\t0:00:00\t0:00:00\t0\tAGENT\t7:02:55\t7:05:41\t166\tDORIT',
        'AA0101\t3\t0\t0\tPS\t990231\t7:02:47\t7:02:56\t9\t0:00:00\t0:00:00\t0\tAGENT\t7:02:55\t7:05:41\t166\tDORIT',
        'AA0101\t4\t0\t0\tPS\t990201\t7:62:47\t7:02:56\t9\t0:00:00\t0:00:00\t0\tAGENT\t7:02:55\t7:05:41\t166\tDORIT',
        'AA0101\t5\t0\t0\tPS\t990201\t7:02:47\t7:02:56\t9\t0:00:00\t0:00:00\t0\tLOST\t7:02:55\t7:05:41\t166\tDORIT',
        'AA0101\t6\t0\t0\tPS\t990201\t7:02:47',
      ]),
    );
    assert.equal(r.rows, 6);
    assert.equal(r.calls.length, 1);
    assert.deepEqual(
      r.malformed.map((m) => m.line),
      [3, 4, 5, 6, 7],
    );
    assert.match(r.malformed[0]?.reason ?? '', /priority "7" is not 0, 1 or 2/);
    assert.match(r.malformed[1]?.reason ?? '', /not a calendar date/);
    assert.match(r.malformed[2]?.reason ?? '', /vru_entry "7:62:47" is not a time/);
    assert.match(r.malformed[3]?.reason ?? '', /outcome "LOST"/);
    assert.match(r.malformed[4]?.reason ?? '', /has 7 fields, expected 17/);
  });

  test('a missing file, an empty file and a wrong header are ImportErrors that say what is wrong', async () => {
    await assert.rejects(importAnonymousBank(join(dir, 'nope.tsv')), (e: unknown) => e instanceof ImportError && /no such file/.test(e.message));
    await assert.rejects(importAnonymousBank(file([])), (e: unknown) => e instanceof ImportError && /empty/.test(e.message));
    await assert.rejects(
      importAnonymousBank(file(['call_id,date,outcome', '1,990201,AGENT'])),
      (e: unknown) => e instanceof ImportError && /does not look like the Anonymous Bank format/.test(e.message) && /vru\+line/.test(e.message),
    );
  });
});

describe('parseRow anomalies', () => {
  test('answered by NO_SERVER', () => {
    const c = parseRow(row('AA0101 34537 0 0 PS 990201 7:31:45 7:31:55 10 0:00:00 0:00:00 0 AGENT 7:31:54 7:31:59 5 NO_SERVER'), 2);
    assert.ok(typeof c !== 'string');
    assert.equal(c.server, null);
    assert.deepEqual(c.anomalies, ['answered_by_no_server']);
    assert.equal(c.askedAt, Date.UTC(1999, 1, 1, 7, 31, 54), 'a call served without queueing asks for an agent at ser_start');
  });

  test('a service crossing midnight ends on the next day', () => {
    const c = parseRow(row('AA0104 22869 24309866 2 PS 990208 23:51:29 23:51:34 5 23:51:34 23:52:21 47 AGENT 23:52:20 0:00:55 515 AVNI'), 2);
    assert.ok(typeof c !== 'string');
    assert.deepEqual(c.anomalies, ['service_crosses_midnight']);
    assert.equal(c.serviceS, 515);
  });

  test('a call that queued after midnight of its date', () => {
    const c = parseRow(row('AA0115 14375 25245705 1 PS 990210 23:59:56 23:59:56 0 0:00:02 0:00:29 27 AGENT 0:00:29 0:00:58 29 BENSION'), 2);
    assert.ok(typeof c !== 'string');
    assert.equal(c.date, '1999-02-10');
    assert.equal(c.askedAt, Date.UTC(1999, 1, 11, 0, 0, 2));
    assert.deepEqual(c.anomalies.sort(), ['asked_after_midnight', 'queue_start_differs_from_vru_exit']);
  });

  test('negative VRU time, mangled customer id, hang-up before queueing, phantom', () => {
    const neg = parseRow(row('AA0103 25730 28566412 2 PS 990201 17:12:19 17:11:29 -50 17:11:29 17:12:32 63 AGENT 17:12:31 17:13:46 75 IDIT'), 2);
    assert.ok(typeof neg !== 'string');
    assert.deepEqual(neg.anomalies, ['negative_vru_time']);
    const mangled = parseRow(row('AA0101 1 6.02701E+11 1 PS 990201 7:31:45 7:31:55 10 0:00:00 0:00:00 0 AGENT 7:31:54 7:31:59 5 DORIT'), 2);
    assert.ok(typeof mangled !== 'string');
    assert.deepEqual(mangled.anomalies, ['customer_id_not_an_integer']);
    const hang = parseRow(row('AA0101 34606 0 0 PS 990201 22:43:22 22:43:22 0 0:00:00 0:00:00 0 HANG 0:00:00 0:00:00 0 NO_SERVER'), 2);
    assert.ok(typeof hang !== 'string');
    assert.deepEqual(hang.anomalies, ['abandoned_before_queueing']);
    assert.equal(hang.askedAt, Date.UTC(1999, 1, 1, 22, 43, 22));
    const phantom = parseRow(row('AA0101 35092 0 0 NW 990209 13:53:36 13:53:46 10 13:53:46 13:54:10 24 PHANTOM 13:54:09 13:54:13 4 NO_SERVER'), 2);
    assert.ok(typeof phantom !== 'string');
    assert.deepEqual(phantom.anomalies, ['phantom']);
  });
});
