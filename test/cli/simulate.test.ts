/**
 * `switchboard simulate` end to end, as a user runs it: a child process on a slice of the real
 * sample, then the files it wrote (also through the call flow, `--voice`, and a flow fed back with
 * `--flow`); and the errors for bad options and bad files.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
const MAIN = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));
const SAMPLE = fileURLToPath(new URL('../../../shared/data/anonymous-bank-1999-02-01_14.tsv', import.meta.url));

/** Runs the CLI; resolves with the exit code and output even when it fails. */
async function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [MAIN, ...args]);
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

test('simulate with callbacks on two days writes report.json, report.html and staffing.csv with three columns', async () => {
  const out = mkdtempSync(join(tmpdir(), 'switchboard-simulate-'));
  const r = await cli(['simulate', SAMPLE, '--from', '1999-02-02', '--to', '1999-02-03', '--callbacks', '--take-rate', '0.6', '--strategy', 'agent_first', '--seed', '5', '--out', out]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /What really happened/);
  assert.match(r.stdout, /Simulated, with callbacks/);
  assert.match(r.stdout, /Guedj and Avishai Mandelbaum/);

  const report = JSON.parse(readFileSync(join(out, 'report.json'), 'utf8'));
  assert.equal(report.generated_by, 'switchboard simulate');
  assert.deepEqual(report.options.callbacks, { offerThresholdS: 60, takeRate: 0.6, strategy: 'agent_first', answerRate: 0.8 });
  assert.equal(report.options.seed, 5);
  assert.deepEqual(report.days.map((d: { date: string }) => d.date), ['1999-02-02', '1999-02-03']);
  for (const row of [...report.days, report.total]) {
    for (const column of ['real', 'simulated', 'simulated_with_callbacks']) {
      const m = row[column];
      assert.ok(m !== null, `${row.date} ${column}`);
      assert.equal(m.offered, row.real.offered, `${row.date} ${column}: the same arrivals`);
      assert.ok(m.abandonment >= 0 && m.abandonment <= 1);
      assert.ok(m.occupancy > 0 && m.occupancy <= 1);
    }
    assert.equal(row.real.callbacks_offered, null);
    assert.equal(typeof row.simulated_with_callbacks.callbacks_offered, 'number');
  }
  // The real column is the replay's own KPIs: the log's outcomes.
  assert.equal(report.total.real.offered, report.total.real.answered + report.total.real.abandoned);

  const html = readFileSync(join(out, 'report.html'), 'utf8');
  assert.match(html, /^<!doctype html>/);
  assert.equal((html.match(/<svg/g) ?? []).length, 4);
  assert.match(html, /Simulated, with callbacks/);
  assert.doesNotMatch(html, /<script|https?:\/\/(?!www\.w3\.org)/);

  const staffing = readFileSync(join(out, 'staffing.csv'), 'utf8');
  assert.match(staffing, /^agent,start,end,types\n/);
  // Fed back, the written staffing plan is accepted and gives the same simulation.
  const out2 = mkdtempSync(join(tmpdir(), 'switchboard-simulate-'));
  const r2 = await cli(['simulate', SAMPLE, '--from', '1999-02-02', '--to', '1999-02-03', '--seed', '5', '--staffing', join(out, 'staffing.csv'), '--out', out2]);
  assert.equal(r2.code, 0, r2.stderr);
  const report2 = JSON.parse(readFileSync(join(out2, 'report.json'), 'utf8'));
  assert.deepEqual(report2.total.simulated, report.total.simulated);
  assert.equal(report2.total.simulated_with_callbacks, null);
});

test('simulate --voice on one day: the callers go through the call flow, the IVR step is printed and reported, flow.json is written to start a --flow from', async () => {
  const out = mkdtempSync(join(tmpdir(), 'switchboard-simulate-'));
  const r = await cli(['simulate', SAMPLE, '--voice', '--from', '1999-02-12', '--to', '1999-02-12', '--seed', '4', '--out', out]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /Simulated through the call flow/);
  assert.match(r.stdout, /IVR step/);
  assert.match(r.stdout, /Call flow: the log's VRU \(default\)/);
  const report = JSON.parse(readFileSync(join(out, 'report.json'), 'utf8'));
  assert.equal(report.options.voice.flow, 'default');
  assert.equal(report.ivr.total.calls, report.total.real.offered);
  assert.equal(report.ivr.total.mean_abs_diff_s, 0);
  assert.equal(report.total.simulated.offered, report.total.real.offered);
  assert.match(readFileSync(join(out, 'report.html'), 'utf8'), /<h2>IVR step<\/h2>/);

  // The written flow, with one more menu, fed back: the IVR time rises, the rest of the run is the same model.
  const flow = JSON.parse(readFileSync(join(out, 'flow.json'), 'utf8'));
  assert.equal(flow.steps[0].id, 'vru');
  flow.steps[0].gather.choices = { '1': { next: 'menu' } };
  flow.steps.splice(1, 0, { id: 'menu', gather: { numDigits: 1, prompt: [{ say: { text: 'For accounts press 1, for loans press 2, for anything else press 3.' } }], into: 'topic', choices: { '1': 'accounts', '2': 'loans', '3': 'other' } } });
  const flowFile = join(out, 'menu.json');
  writeFileSync(flowFile, JSON.stringify(flow));
  const out2 = mkdtempSync(join(tmpdir(), 'switchboard-simulate-'));
  const r2 = await cli(['simulate', SAMPLE, '--voice', '--flow', flowFile, '--from', '1999-02-12', '--to', '1999-02-12', '--seed', '4', '--out', out2]);
  assert.equal(r2.code, 0, r2.stderr);
  const report2 = JSON.parse(readFileSync(join(out2, 'report.json'), 'utf8'));
  assert.equal(report2.options.voice.flow, flowFile);
  assert.ok(report2.ivr.total.mean_ivr_s > report.ivr.total.mean_ivr_s + 4, `${report2.ivr.total.mean_ivr_s} vs ${report.ivr.total.mean_ivr_s}`);
  assert.equal(report2.ivr.total.log_mean_vru_s, report.ivr.total.log_mean_vru_s);
});

test('bad options and files are refused with the option or file named, and nothing is written', async () => {
  const out = join(mkdtempSync(join(tmpdir(), 'switchboard-simulate-')), 'never');
  const cases: Array<[string[], RegExp]> = [
    [['--callbacks', '--take-rate', '1.5'], /--take-rate "1\.5" must be a number from 0 to 1/],
    [['--callbacks', '--answer-rate', 'lots'], /--answer-rate "lots" must be a number from 0 to 1/],
    [['--callbacks', '--strategy', 'fastest'], /--strategy "fastest" must be customer_first or agent_first/],
    [['--callbacks', '--offer-threshold', '-5'], /--offer-threshold "-5" must be a number of seconds/],
    [['--take-rate', '0.3'], /--take-rate only applies with --callbacks/],
    [['--seed', 'abc'], /--seed "abc" must be a whole number/],
    [['--accept-delay', '3,1'], /--accept-delay "3,1" must be MIN,MAX seconds/],
    [['--wrap-up', 'x'], /--wrap-up "x" must be a number of seconds/],
    [['--from', '1999-02-31'], /--from "1999-02-31" is not a date/],
    [['--from', '1999-02-05', '--to', '1999-02-01'], /--from 1999-02-05 is after --to 1999-02-01/],
    [['--flow', 'x.json'], /--flow only applies with --voice/],
    [['--voice', '--callbacks'], /with --voice the flow makes the offers: use --flow with an offer_callback step/],
  ];
  for (const [args, message] of cases) {
    const r = await cli(['simulate', SAMPLE, '--out', out, ...args]);
    assert.notEqual(r.code, 0, args.join(' '));
    assert.match(r.stderr, message, args.join(' '));
  }
  const missing = await cli(['simulate', join(out, 'nope.tsv'), '--out', out]);
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /Cannot read call log .*nope\.tsv/);

  const empty = await cli(['simulate', SAMPLE, '--from', '2000-01-01', '--out', out]);
  assert.equal(empty.code, 1);
  assert.match(empty.stderr, /no calls to simulate .* between --from 2000-01-01 and --to \(end\): it covers 1999-02-01 to 1999-02-14/);

  const dir = mkdtempSync(join(tmpdir(), 'switchboard-simulate-'));
  const staffing = join(dir, 'plan.csv');
  writeFileSync(staffing, 'agent,start,end,types\nANNA,1999-02-02T07:00,1999-02-02T15:00,ZZ\n');
  const bad = await cli(['simulate', SAMPLE, '--from', '1999-02-02', '--to', '1999-02-02', '--staffing', staffing, '--out', out]);
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /plan\.csv line 2: types ZZ do not occur in the log/);
  const flowFile = join(dir, 'flow.json');
  writeFileSync(flowFile, JSON.stringify({ steps: [{ id: 'queue', enqueue: { workflowSid: 'WWabc' } }] }));
  const badFlow = await cli(['simulate', SAMPLE, '--voice', '--flow', flowFile, '--from', '1999-02-02', '--to', '1999-02-02', '--out', out]);
  assert.equal(badFlow.code, 1);
  assert.match(badFlow.stderr, /flow\.json: steps\[0\]\.enqueue\.workflowSid must be "WW_SIM"/);
  const nofile = await cli(['simulate', SAMPLE, '--staffing', join(dir, 'absent.json'), '--out', out]);
  assert.equal(nofile.code, 1);
  assert.match(nofile.stderr, /--staffing .*absent\.json: no such file/);
  assert.throws(() => readFileSync(join(out, 'report.json')), /ENOENT/);
});

test('--help explains the options and points at the model', async () => {
  const r = await cli(['simulate', '--help']);
  assert.equal(r.code, 0);
  for (const option of ['--staffing', '--seed', '--callbacks', '--offer-threshold', '--take-rate', '--strategy', '--answer-rate', '--accept-delay', '--wrap-up', '--voice', '--flow', 'WW_SIM', 'CT_SIM', 'docs/simulation.md']) {
    assert.ok(r.stdout.includes(option), option);
  }
});
