/**
 * `switchboard replay` end to end, as a user runs it: a child process on the real sample, then
 * the files it wrote. Also the run-time criteria of issue #3 that a file can show.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
const MAIN = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));
const SAMPLE = fileURLToPath(new URL('../../../shared/data/anonymous-bank-1999-02-01_14.tsv', import.meta.url));

test('replay of the sample writes report.json, predictions.csv and report.html', async () => {
  const out = mkdtempSync(join(tmpdir(), 'switchboard-cli-'));
  const { stdout } = await run(process.execPath, [MAIN, 'replay', SAMPLE, '--out', out]);
  assert.match(stdout, /Replayed 17313 calls/);
  assert.match(stdout, /Guedj and Avishai Mandelbaum/);

  const report = JSON.parse(readFileSync(join(out, 'report.json'), 'utf8'));
  assert.equal(report.source.path, SAMPLE);
  assert.equal(report.import.rows, 17456);
  assert.equal(report.import.malformed, 0);
  assert.equal(report.import.phantom_skipped, 143);
  assert.equal(report.days.length, 14);
  for (const day of report.days) {
    assert.deepEqual(Object.keys(day).sort(), ['abandoned', 'aht_s', 'answered', 'asa_s', 'date', 'max_wait_s', 'offered', 'service_level_20s']);
    assert.match(day.date, /^1999-02-\d\d$/);
    assert.equal(day.offered, day.answered + day.abandoned);
  }
  assert.equal(report.total.offered, 17313);
  assert.equal(report.total.answered, 14405);
  assert.deepEqual(report.service_level, { variant: 'abandons-count-against', threshold_s: 20 });

  // Engagements per day (analytics projector): the same days, outcomes agreeing with the KPIs.
  assert.deepEqual(report.engagements.map((d: { date: string }) => d.date), report.days.map((d: { date: string }) => d.date));
  for (const [i, e] of report.engagements.entries()) {
    const day = report.days[i];
    assert.deepEqual(Object.keys(e).sort(), ['agent_engagements', 'date', 'invitations', 'occupancy', 'queue_engagements']);
    assert.deepEqual(Object.keys(e.queue_engagements), ['Accepted', 'Moved', 'Deleted', 'CustomerLeft', 'Timeout', 'Canceled', 'Expired']);
    assert.deepEqual(Object.keys(e.invitations), ['Accepted', 'Rejected', 'Missed', 'Revoked', 'Failed']);
    assert.deepEqual(Object.keys(e.agent_engagements).sort(), ['count', 'mean_engagement_s', 'mean_handling_s', 'mean_wrapup_s']);
    assert.deepEqual([e.queue_engagements.Accepted, e.queue_engagements.CustomerLeft, e.agent_engagements.count], [day.answered, day.abandoned, day.answered]);
    assert.ok(e.occupancy > 0 && e.occupancy < 1, `${e.date}: occupancy ${e.occupancy} is a share`);
  }
  assert.equal(report.engagements_total.queue_engagements.Accepted, 14405);
  assert.equal(report.engagements_total.agent_engagements.count, 14405);
  assert.ok(report.engagements_total.occupancy > 0.3 && report.engagements_total.occupancy < 1, `occupancy ${report.engagements_total.occupancy}`);
  assert.ok(Math.abs(report.engagements_total.agent_engagements.mean_handling_s - report.total.aht_s) < 1e-6, 'mean handling over the replay = AHT');

  const ewt = report.ewt;
  const best = report.ewt_default_predictor;
  for (const seed of ['twilio_avg_acceptance', 'oldest_call_waiting']) {
    assert.ok(ewt[best].mae_s < ewt[seed].mae_s, `default MAE ${ewt[best].mae_s} must beat ${seed} ${ewt[seed].mae_s}`);
    assert.ok(ewt[best].callback_decision_accuracy >= ewt[seed].callback_decision_accuracy, `default callback decisions must be right at least as often as ${seed}`);
  }
  for (const name of ['twilio_avg_acceptance', 'oldest_call_waiting', 'les', 'hol', 'qlm']) {
    assert.ok(Number.isFinite(ewt[name].mae_s) && Number.isFinite(ewt[name].rmse_s), `${name} is scored`);
  }

  const csv = readFileSync(join(out, 'predictions.csv'), 'utf8').trimEnd().split('\n');
  const header = (csv[0] as string).split(',');
  assert.deepEqual(header.slice(0, 2), ['call_key', 'predicted_wait_s']);
  assert.ok(header.includes(best) && header.includes('qlm') && header.includes('hol'));
  assert.equal(csv.length - 1, 17313, 'one row per call that asked for an agent');
  const first = (csv[1] as string).split(',');
  assert.match(first[0] as string, /^AA\d{4}-\d+$/);
  assert.equal(first[1], first[header.indexOf(best)], 'predicted_wait_s is the default predictor');

  const html = readFileSync(join(out, 'report.html'), 'utf8');
  assert.match(html, /^<!DOCTYPE html>/i);
  assert.ok(!/<script[^>]*src=/i.test(html), 'self-contained');
  assert.match(html, /Mandelbaum/);
  assert.match(html, /<table class="engagements" id="engagement-table">/);
});

test('a missing log is a one-line error and exit code 1, not a stack trace', async () => {
  await assert.rejects(run(process.execPath, [MAIN, 'replay', '/nonexistent/log.tsv']), (error: { code: number; stderr: string }) => {
    assert.equal(error.code, 1);
    assert.match(error.stderr, /^switchboard replay: Cannot read call log \/nonexistent\/log.tsv/);
    assert.ok(!/\n\s+at /.test(error.stderr), 'no stack trace');
    return true;
  });
});

test('a bad date option names the option and the expected form', async () => {
  await assert.rejects(run(process.execPath, [MAIN, 'replay', SAMPLE, '--to', '14/02/1999']), (error: { code: number; stderr: string }) => {
    assert.equal(error.code, 1);
    assert.match(error.stderr, /--to <date>.*"14\/02\/1999" is not a date as YYYY-MM-DD/);
    return true;
  });
});
