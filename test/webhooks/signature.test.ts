import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { test } from 'node:test';
import twilio from 'twilio';
import { stripFragment, twilioSignature } from '../../src/runtime/signature.ts';

const zeros = '0'.repeat(32);
const vectors: { token: string; url: string; params: Record<string, string>; expected: string }[] = [
  {
    token: '12345',
    url: 'https://mycompany.com/myapp.php?foo=1&bar=2',
    params: { CallSid: 'CA1234567890ABCDE', Caller: '+14158675309', Digits: '1234', From: '+14158675309', To: '+18005551212' },
    expected: 'RSOYDt4T1cUTdK1PDd93/VVr8B8=',
  },
  {
    token: '12345',
    url: 'https://mycompany.com/myapp.php?foo=1&bar=2',
    params: { CallSid: 'CA1234567890ABCDE', Caller: '+12349013030', Digits: '1234', From: '+12349013030', To: '+18005551212' },
    expected: '0/KCTR6DLpKmkAf8muzZqo1nDgQ=',
  },
  {
    token: '12345',
    url: 'https://example.com/events',
    params: { AccountSid: `AC${zeros}`, EventType: 'task.created', ResourceSid: `WT${zeros}`, ResourceType: 'task', WorkspaceSid: `WS${zeros}` },
    expected: 'zlXSKL0w7Y4hKsiwfqaG/5GPkTI=',
  },
];

test('the three test vectors of spec §11, also accepted by twilio.validateRequest', () => {
  for (const v of vectors) {
    const signature = twilioSignature(v.token, v.url, v.params);
    assert.equal(signature, v.expected);
    assert.ok(twilio.validateRequest(v.token, signature, v.url, v.params));
  }
});

test('parameter order does not matter; the fragment is not signed; non-ASCII and ports validate', () => {
  const params = { b: 'é ü', a: '{"x":[1,2]}', B: '' };
  const reversed = { B: '', a: '{"x":[1,2]}', b: 'é ü' };
  const url = 'http://127.0.0.1:8080/cb?x=1#rc=2&ct=500';
  const signature = twilioSignature('tok', url, params);
  assert.equal(twilioSignature('tok', url, reversed), signature);
  assert.equal(stripFragment(url), 'http://127.0.0.1:8080/cb?x=1');
  assert.ok(twilio.validateRequest('tok', signature, stripFragment(url), params));
  assert.ok(!twilio.validateRequest('other', signature, stripFragment(url), params));
});

test('a repeated parameter is signed once per value, values sorted', () => {
  const s = twilioSignature('tok', 'https://x.test/a', { Z: ['2', '1'], A: 'x' });
  assert.equal(s, twilioSignature('tok', 'https://x.test/a', { A: 'x', Z: ['1', '2'] }));
});

test('names are sorted in UTF-8 byte order, also where JS string order differs (U+FF61 before U+1F600)', () => {
  const hmac = (data: string): string => createHmac('sha1', 'tok').update(data, 'utf8').digest('base64');
  const url = 'https://x.test/a';
  // JS `<` puts 'x😀' first (its surrogate 0xD83D < 0xFF61); in UTF-8, EF BD A1 < F0 9F 98 80.
  assert.equal(twilioSignature('tok', url, { 'x😀': '1', 'x｡': '2', Ab: '3', B: '4', a: '5' }), hmac(`${url}Ab3B4a5x｡2x😀1`));
  assert.equal(twilioSignature('tok', url, { n: ['b😀', 'b｡', 'a'] }), hmac(`${url}nanb｡nb😀`));
});
