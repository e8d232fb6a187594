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
