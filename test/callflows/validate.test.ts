// The call-flow format's validation (src/callflows/validate.ts): the seed flow passes; every bad
// document is refused with an error naming the step (index and id) and the field.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FlowValidationError, seedFlow, validateFlow, type CallFlow } from '../../src/callflows/index.ts';

const WW = 'WW' + 'a'.repeat(32);

test('the seed flow validates, also after a JSON round trip', () => {
  const flow = seedFlow(WW);
  assert.equal(validateFlow(flow), flow);
  assert.deepEqual(validateFlow(JSON.parse(JSON.stringify(flow))), flow);
});

/** The seed flow with a change made to a copy. */
function seedWith(change: (f: CallFlow & { steps: Array<Record<string, unknown>> }) => void): unknown {
  const f = structuredClone(seedFlow(WW)) as CallFlow & { steps: Array<Record<string, unknown>> };
  change(f);
  return f;
}

function refused(doc: unknown): FlowValidationError {
  try {
    validateFlow(doc);
  } catch (e) {
    assert.ok(e instanceof FlowValidationError, String(e));
    return e;
  }
  assert.fail('accepted');
}

test('errors name the step and the field', () => {
  const gather = (f: { steps: Array<Record<string, unknown>> }) => f.steps[1]!['gather'] as Record<string, unknown>;
  const cases: Array<[string, unknown, string, number | null, string | null]> = [
    ['timeout out of range', seedWith((f) => (gather(f)['timeout'] = 90)), 'steps[1].gather.timeout must be 1–60 seconds', 1, 'language'],
    ['misspelt setting', seedWith((f) => (gather(f)['timout'] = 5)), 'steps[1].gather.timout is not a known setting', 1, 'language'],
    ['DTMF key not a digit', seedWith((f) => (gather(f)['choices'] = { a: 'hindi' })), 'steps[1].gather.choices.a must be keyed by digits', 1, 'language'],
    ['key longer than numDigits', seedWith((f) => (gather(f)['choices'] = { '12': 'hindi' })), 'steps[1].gather.choices.12 is longer than numDigits (1)', 1, 'language'],
    ['value without into', seedWith((f) => delete gather(f)['into']), 'steps[1].gather.choices.1 gives a value but the gather has no `into`', 1, 'language'],
    ['choice to no step', seedWith((f) => (gather(f)['choices'] = { '1': { next: 'nowhere' } })), 'steps[1].gather.choices.1.next names no step ("nowhere")', 1, 'language'],
    ['empty prompt', seedWith((f) => (gather(f)['prompt'] = [])), 'steps[1].gather.prompt must be a list of 1–20 say or play parts', 1, 'language'],
    ['bad language', seedWith((f) => ((f.steps[0]!['say'] as Record<string, unknown>)['language'] = 'english please')), 'steps[0].say.language must be a BCP 47 language tag', 0, 'welcome'],
    ['workflow not a SID', seedWith((f) => ((f.steps[2]!['enqueue'] as Record<string, unknown>)['workflowSid'] = 'Incoming Customer Requests')), 'steps[2].enqueue.workflowSid must be a workflow SID (WW followed by 32 hex digits)', 2, 'queue'],
    ['workflow wrong prefix', seedWith((f) => ((f.steps[2]!['enqueue'] as Record<string, unknown>)['workflowSid'] = 'WQ' + 'a'.repeat(32))), 'steps[2].enqueue.workflowSid must be a workflow SID', 2, 'queue'],
    ['announcements too often', seedWith((f) => (((f.steps[2]!['enqueue'] as Record<string, unknown>)['hold'] as Record<string, unknown>)['announceEvery'] = 5)), 'steps[2].enqueue.hold.announceEvery must be 10–3600 seconds', 2, 'queue'],
    ['next on enqueue', seedWith((f) => (f.steps[2]!['next'] = 'welcome')), 'steps[2].next is not allowed: enqueue ends the flow', 2, 'queue'],
    ['two kinds', seedWith((f) => (f.steps[0]!['play'] = { url: 'https://x.test/a.mp3' })), 'steps[0] must have exactly one of', 0, 'welcome'],
    ['repeated id', seedWith((f) => (f.steps[2]!['id'] = 'welcome')), 'steps[2].id repeats the id of steps[0] ("welcome")', 2, null],
    ['falls off the end', seedWith((f) => f.steps.pop()), 'steps[1].next is required', 1, 'language'],
    ['say loop', seedWith((f) => (f.steps[0]!['next'] = 'welcome')), 'steps[0].next makes a loop of say/play steps only', 0, 'welcome'],
    ['unknown start', seedWith((f) => (f.start = 'menu')), 'start names no step ("menu")', null, null],
    ['no steps', { steps: [] }, 'steps must be a list of 1–200 steps', null, null],
    [
      'hold offer without announcements',
      seedWith((f) => {
        const hold = (f.steps[2]!['enqueue'] as Record<string, unknown>)['hold'] as Record<string, unknown>;
        delete hold['announceEvery'];
        hold['callbackOffer'] = { callTargetSid: 'CT1' };
      }),
      'steps[2].enqueue.hold.callbackOffer needs hold.announceEvery',
      2,
      'queue',
    ],
    [
      'offer key',
      { steps: [{ id: 'o', offer_callback: { callTargetSid: 'CT1', key: '12' }, next: 'h' }, { id: 'h', hangup: {} }] },
      'steps[0].offer_callback.key must be a string of 1–1 characters',
      0,
      'o',
    ],
  ];
  for (const [name, doc, message, index, id] of cases) {
    const e = refused(doc);
    assert.ok(e.message.startsWith(message), `${name}: ${e.message}`);
    assert.equal(e.stepIndex, index, `${name}: step index`);
    assert.equal(e.stepId, id, `${name}: step id`);
    if (id !== null) assert.ok(e.message.endsWith(`(step "${id}")`), `${name}: ${e.message}`);
  }
});
