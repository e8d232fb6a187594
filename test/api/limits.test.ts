/**
 * Bounded expressions and workflow configurations (issue 11 item 9): what a hostile or careless
 * client can make the server parse and evaluate on every task is limited, and going over a limit
 * is a 400/20001 naming the parameter (and inside a configuration, the path) and the limit; the
 * refused write changes nothing (docs/compatibility.md "Limits").
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { MAX_EXPRESSION_LENGTH } from '../../src/expr/index.ts';
import { MAX_FILTER_TARGETS, MAX_WORKFLOW_FILTERS } from '../../src/engine/workflow-config.ts';
import { startHarness, type Harness } from './helpers.ts';

let h: Harness;
let ws: string;
let queue: string;
before(async () => {
  h = await startHarness();
  ws = (await h.client.taskrouter.v1.workspaces.create({ friendlyName: 'Limits' })).sid;
  queue = (await h.client.taskrouter.v1.workspaces(ws).taskQueues.create({ friendlyName: 'Q', targetWorkers: '1==1' })).sid;
});
after(async () => {
  await h.close();
});

const form = (params: Record<string, string>): string => new URLSearchParams(params).toString();

test('an expression over 4,096 characters is refused naming the parameter and the limit; one at the limit is taken', async () => {
  const long = `skills HAS '${'x'.repeat(MAX_EXPRESSION_LENGTH)}'`;
  const res = await h.raw('POST', `/v1/Workspaces/${ws}/TaskQueues`, { body: form({ FriendlyName: 'Long', TargetWorkers: long }) });
  assert.equal(res.status, 400, JSON.stringify(res.body));
  const body = res.body as { code: number; message: string };
  assert.equal(body.code, 20001);
  assert.match(body.message, /TargetWorkers/);
  assert.match(body.message, /at most 4096 characters/);
  assert.ok(body.message.length < 1_000, `the message quotes a shortened expression (${body.message.length} characters)`);
  // An IN list of 100,000 items cannot fit: refused by the same limit, before any parsing.
  const list = `language IN [${Array.from({ length: 100_000 }, (_, i) => i).join(',')}]`;
  const listRes = await h.raw('POST', `/v1/Workspaces/${ws}/TaskQueues`, { body: form({ FriendlyName: 'List', TargetWorkers: list }) });
  assert.equal(listRes.status, 400);
  assert.match((listRes.body as { message: string }).message, /at most 4096 characters/);
  const queues = await h.client.taskrouter.v1.workspaces(ws).taskQueues.list();
  assert.deepEqual(queues.map((q) => q.friendlyName).sort(), ['Q'], 'nothing was created');

  const atLimit = `1 == 1 ${'AND 1 == 1 '.repeat(Math.floor((MAX_EXPRESSION_LENGTH - 7) / 11))}`.trimEnd().padEnd(MAX_EXPRESSION_LENGTH, ' ');
  assert.equal(atLimit.length, MAX_EXPRESSION_LENGTH);
  const ok = await h.raw('POST', `/v1/Workspaces/${ws}/TaskQueues`, { body: form({ FriendlyName: 'At the limit', TargetWorkers: atLimit }) });
  assert.equal(ok.status, 201, JSON.stringify(ok.body));

  // The list filters that evaluate an expression per resource are bounded the same way.
  const filter = await h.raw('GET', `/v1/Workspaces/${ws}/Tasks?${form({ EvaluateTaskAttributes: long })}`);
  assert.equal(filter.status, 400);
});

test('a workflow of more than 1,000 filters, or a filter of more than 100 targets, is refused naming the path and the limit', async () => {
  const filter = (i: number) => ({ expression: `n==${i}`, targets: [{ queue }] });
  const many = { task_routing: { filters: Array.from({ length: 12_000 }, (_, i) => filter(i)) } };
  const res = await h.raw('POST', `/v1/Workspaces/${ws}/Workflows`, { body: form({ FriendlyName: 'Many', Configuration: JSON.stringify(many) }) });
  assert.equal(res.status, 400, JSON.stringify(res.body).slice(0, 300));
  assert.match((res.body as { message: string }).message, new RegExp(`task_routing\\.filters may hold at most ${MAX_WORKFLOW_FILTERS} filters \\(got 12000\\)`));

  const wide = { task_routing: { filters: [{ expression: '1==1', targets: Array.from({ length: MAX_FILTER_TARGETS + 1 }, () => ({ queue })) }] } };
  const wideRes = await h.raw('POST', `/v1/Workspaces/${ws}/Workflows`, { body: form({ FriendlyName: 'Wide', Configuration: JSON.stringify(wide) }) });
  assert.equal(wideRes.status, 400);
  assert.match((wideRes.body as { message: string }).message, /task_routing\.filters\[0\]\.targets may hold at most 100 targets/);
  assert.equal((await h.client.taskrouter.v1.workspaces(ws).workflows.list()).length, 0, 'nothing was created');

  const fine = { task_routing: { filters: Array.from({ length: MAX_WORKFLOW_FILTERS }, (_, i) => filter(i)) } };
  const ok = await h.raw('POST', `/v1/Workspaces/${ws}/Workflows`, { body: form({ FriendlyName: 'Fine', Configuration: JSON.stringify(fine) }) });
  assert.equal(ok.status, 201, JSON.stringify(ok.body).slice(0, 300));
});
