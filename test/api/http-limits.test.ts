/**
 * No client can hold the server open, and every answer has Twilio's error shape (issue 11 items 3
 * and 6). Connections with unfinished headers or bodies are cut by the headers and request
 * timeouts, idle keep-alive connections by the keep-alive timeout, and past the connection cap a
 * new connection is closed at once. The limits are small here (set per app) so the test waits
 * only on the server's own timers, for the sockets to close (no fixed sleep).
 */
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { after, before, test } from 'node:test';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../src/api/app.ts';
import { Runtime, type NewCredentials } from '../../src/runtime/runtime.ts';
import { testStoreOptions } from '../support/store.ts';

let runtime: Runtime;
let app: FastifyInstance;
let port: number;
let account: NewCredentials;
const LIMITS = { headersTimeoutMs: 400, requestTimeoutMs: 800, keepAliveTimeoutMs: 300, idleTimeoutMs: 5_000, maxConnections: 4 };

before(async () => {
  runtime = await Runtime.open(testStoreOptions(mkdtempSync(join(tmpdir(), 'switchboard-limits-'))));
  account = await runtime.createAccount('Acme');
  app = buildApp({ runtime, limits: LIMITS });
  await app.listen({ host: '127.0.0.1', port: 0 });
  port = (app.server.address() as AddressInfo).port;
});
after(async () => {
  await app.close();
  await runtime.close();
});

/** A raw connection: what it received, and a promise of its close (with the time it took, ms). */
function open(): { socket: Socket; received: () => string; closed: Promise<number> } {
  const started = performance.now();
  const socket = connect(port, '127.0.0.1');
  let data = '';
  socket.setEncoding('utf8');
  socket.on('data', (d: string) => (data += d));
  socket.on('error', () => undefined);
  const closed = new Promise<number>((resolve) => socket.on('close', () => resolve(performance.now() - started)));
  return { socket, received: () => data, closed };
}

/** The JSON body of a raw HTTP answer. */
function jsonOf(raw: string): Record<string, unknown> {
  return JSON.parse(raw.slice(raw.indexOf('\r\n\r\n') + 4)) as Record<string, unknown>;
}

function assertTwilioShape(body: Record<string, unknown>, status: number): void {
  assert.deepEqual(Object.keys(body).sort(), ['code', 'message', 'more_info', 'status'], JSON.stringify(body));
  assert.equal(body['status'], status);
  assert.equal(typeof body['code'], 'number');
  assert.match(String(body['more_info']), /^https:\/\/www\.twilio\.com\/docs\/errors\/\d+$/);
}

test('every refusal has Twilio’s error shape: 401, 404, 405, 413, 414, 415, 431 and a malformed request', async () => {
  const auth = `Basic ${Buffer.from(`${account.sid}:${account.secret}`).toString('base64')}`;
  const base = `http://127.0.0.1:${port}`;
  const cases: Array<[number, () => Promise<Response>]> = [
    [401, () => fetch(`${base}/v1/Workspaces`)],
    [404, () => fetch(`${base}/nope`)],
    [405, () => fetch(`${base}/v1/Workspaces`, { method: 'PUT', headers: { authorization: auth } })],
    [413, () => fetch(`${base}/v1/Workspaces`, { method: 'POST', headers: { authorization: auth, 'content-type': 'application/x-www-form-urlencoded' }, body: `FriendlyName=${'x'.repeat(4 * 1024 * 1024 + 1)}` })],
    [414, () => fetch(`${base}/v1/Workspaces/${'W'.repeat(300)}`, { headers: { authorization: auth } })],
    [415, () => fetch(`${base}/v1/Workspaces`, { method: 'POST', headers: { authorization: auth, 'content-type': 'text/plain' }, body: 'x' })],
  ];
  for (const [status, send] of cases) {
    const res = await send();
    assert.equal(res.status, status, `expected ${status}`);
    assertTwilioShape((await res.json()) as Record<string, unknown>, status);
  }
  // Connection-level refusals come from Node's parser: answered on the raw socket, same shape.
  for (const [status, request] of [
    [431, `GET /v1/Workspaces HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(100_000)}\r\n\r\n`],
    [400, 'NOT HTTP AT ALL\r\n\r\n'],
  ] as const) {
    const c = open();
    c.socket.write(request);
    await c.closed;
    assert.match(c.received(), new RegExp(`^HTTP/1\\.1 ${status} `));
    assertTwilioShape(jsonOf(c.received()), status);
  }
});

test('unfinished headers, an unfinished body and an idle keep-alive connection are closed by the timeouts', async () => {
  const headers = open();
  headers.socket.write('POST /v1/Workspaces HTTP/1.1\r\nHost: x\r\nX-Slow: ');
  const body = open();
  body.socket.write('POST /nope HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 1000\r\n\r\nFriendlyName=');
  const idle = open();
  idle.socket.write('GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n');
  const [h, b, i] = await Promise.all([headers.closed, body.closed, idle.closed]);
  assert.ok(h < LIMITS.headersTimeoutMs + 1_500, `unfinished headers closed after ${h.toFixed(0)} ms`);
  assert.ok(b < LIMITS.requestTimeoutMs + 1_500, `unfinished body closed after ${b.toFixed(0)} ms`);
  assert.ok(i < LIMITS.keepAliveTimeoutMs + 1_500, `idle keep-alive closed after ${i.toFixed(0)} ms`);
  assert.match(idle.received(), /^HTTP\/1\.1 200 /, 'the idle one was answered first');
});

test('past the connection cap a new connection is closed at once; the server serves again when they go', async () => {
  const held = Array.from({ length: LIMITS.maxConnections }, () => open());
  for (const c of held) c.socket.write('GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ');
  await new Promise<void>((resolve) => setImmediate(resolve));
  const extra = open();
  const ms = await extra.closed;
  assert.equal(extra.received(), '', 'refused without an answer');
  assert.ok(ms < LIMITS.headersTimeoutMs, `closed at once (${ms.toFixed(0)} ms), not by a timeout`);
  for (const c of held) c.socket.destroy();
  await Promise.all(held.map((c) => c.closed));
  const res = await fetch(`http://127.0.0.1:${port}/healthz`);
  assert.equal(res.status, 200);
});

test('a Host header that is not a valid host[:port] is refused before it can reach a URL we return', async () => {
  const auth = `Basic ${Buffer.from(`${account.sid}:${account.secret}`).toString('base64')}`;
  for (const host of ['evil.example.com:1/x?y=#', 'a b', 'example.com:99999999', 'exa"mple.com']) {
    const c = open();
    c.socket.write(`GET /v1/Workspaces HTTP/1.1\r\nHost: ${host}\r\nAuthorization: ${auth}\r\nConnection: close\r\n\r\n`);
    await c.closed;
    assert.match(c.received(), /^HTTP\/1\.1 400 /, host);
    const body = jsonOf(c.received());
    assertTwilioShape(body, 400);
    assert.match(String(body['message']), /Host header/);
  }
  for (const host of ['switchboard.example.com', 'localhost:3000', '10.0.0.7:8080', '[::1]:3000']) {
    const c = open();
    c.socket.write(`GET /v1/Workspaces HTTP/1.1\r\nHost: ${host}\r\nAuthorization: ${auth}\r\nConnection: close\r\n\r\n`);
    await c.closed;
    assert.match(c.received(), /^HTTP\/1\.1 200 /, host);
    assert.equal((jsonOf(c.received())['meta'] as { url: string }).url, `http://${host}/v1/Workspaces?PageSize=50&Page=0`);
  }
});

test('a refused request with a body is answered and its connection closed, without reading the rest of the body', async () => {
  const c = open();
  // An unauthenticated 4 MiB body, of which only the first 64 KiB is ever sent.
  c.socket.write(`POST /v1/Workspaces HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: ${4 * 1024 * 1024 - 1}\r\n\r\n`);
  c.socket.write(Buffer.alloc(64 * 1024, 0x61));
  await c.closed;
  assert.match(c.received(), /^HTTP\/1\.1 401 /);
  assert.match(c.received(), /\r\nconnection: close\r\n/i);
  assertTwilioShape(jsonOf(c.received()), 401);
});
