/**
 * A webhook reply is read up to a bound (issue 11 item 1). A receiver that answers an assignment
 * callback with hundreds of megabytes of white space before its instruction used to crash the
 * server (ERR_STRING_TOO_LONG) and crash it again after every restart, as the delivery was
 * retried. Now the reply is cut off at MAX_REPLY_BYTES — the connection closed, the rest never
 * read — and treated like a reply that does not parse: alert 40001, the instruction ignored, the
 * reservation left pending. An event callback answered 200 with an endless body is delivered.
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { MAX_REPLY_BYTES } from '../../src/webhooks/http-post.ts';
import type { WebhookAlert } from '../../src/webhooks/dispatcher.ts';
import { routableWorkspace, webhookBench } from './helpers.ts';

/** A receiver that answers 200 application/json with up to `limit` bytes of spaces, then a JSON instruction; counts what it wrote. */
async function floodingReceiver(limit: number): Promise<{ url: string; written: () => number; cutOff: Promise<void>; close: () => Promise<void> }> {
  let written = 0;
  let cut: () => void = () => undefined;
  const cutOff = new Promise<void>((resolve) => (cut = resolve));
  const chunk = Buffer.alloc(1 << 20, 0x20);
  const server: Server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'application/json' });
      let sent = 0;
      let gone = false;
      res.on('close', () => {
        gone = true;
        if (sent < limit) cut();
      });
      const pump = (): void => {
        while (!gone && sent < limit) {
          sent += chunk.length;
          written += chunk.length;
          if (!res.write(chunk)) {
            res.once('drain', pump);
            return;
          }
        }
        if (!gone) res.end('{"instruction":"accept"}');
      };
      pump();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/flood`,
    written: () => written,
    cutOff,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

test('a 600 MB assignment-callback reply is cut off at the bound: alert 40001, instruction ignored, the server stays small', async (t) => {
  const bench = await webhookBench(t);
  const flood = await floodingReceiver(600 * (1 << 20));
  t.after(() => flood.close());
  const { ws, workflow } = await routableWorkspace(bench.runtime, bench.account.sid, { assignmentCallbackUrl: flood.url, eventCallbackUrl: flood.url });
  const alerts: WebhookAlert[] = [];
  let alerted: () => void = () => undefined;
  const gotAlert = new Promise<void>((resolve) => (alerted = resolve));
  const dispatcher = bench.newDispatcher({
    onAlert: (a) => {
      alerts.push(a);
      if (a.code === 40001) alerted();
    },
  });
  let rssMax = process.memoryUsage().rss;
  const sampler = setInterval(() => (rssMax = Math.max(rssMax, process.memoryUsage().rss)), 20);
  const rssBefore = process.memoryUsage().rss;
  dispatcher.start();
  const task = (await bench.runtime.execute(ws, { type: 'createTask', workflowSid: workflow, attributes: '{}' })).sid as string;
  await gotAlert;
  clearInterval(sampler);
  const alert = alerts.find((a) => a.code === 40001)!;
  assert.match(alert.message, new RegExp(`larger than ${MAX_REPLY_BYTES} bytes`));
  const engine = bench.runtime.workspace(bench.account.sid, ws)!;
  assert.equal(engine.tasks.get(task)!.assignmentStatus, 'reserved', 'the instruction after the flood was not applied');
  await flood.cutOff; // the client closed the connection before the reply ended
  assert.ok(flood.written() < 600 * (1 << 20), `the receiver could not send it all (${flood.written()} bytes written)`);
  assert.ok(rssMax - rssBefore < 300 * (1 << 20), `RSS grew by ${Math.round((rssMax - rssBefore) / (1 << 20))} MB`);
});
