/**
 * The inactivity-timeout tutorial's server code (Twilio's "Build an inactivity timeout for Flex
 * Conversations", spec conversations-events-analytics.md A8), rewritten as a test client that uses
 * ONLY the official `twilio` package and Node's HTTP server — no import from the project — so it
 * runs unchanged against Twilio or against Switchboard:
 *
 * - `POST /taskrouter-events` (the workspace's event callback, filtered to `reservation.accepted`):
 *   for a task whose attributes carry `conversationSid`, creates a conversation-scoped webhook to
 *   `/conversation-events` for `onConversationStateUpdated` and sets `Timers.Inactive`;
 * - `POST /conversation-events`: checks `X-Twilio-Signature`; only on `StateTo=inactive` with
 *   `Reason=TIMER`, finds the conversation's task, completes it (reason `inactivity-timeout`),
 *   posts the timeout message and closes the conversation.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import twilio from 'twilio';

export interface TutorialClient {
  url: string;
  server: Server;
  /** Every request handled, with what it did. */
  log: Array<{ path: string; action: string }>;
  /** Resolves when every handler started so far has finished. */
  idle(): Promise<void>;
  close(): Promise<void>;
}

export interface TutorialOptions {
  accountSid: string;
  authToken: string;
  /** Where the `twilio` client sends its requests (TaskRouter and Conversations). */
  baseUrl: string;
  workspaceSid: string;
  inactiveTimer?: string;
  timeoutMessage?: string;
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => resolve(body));
  });
}

/** Starts the tutorial's server on 127.0.0.1. */
export async function startTutorialClient(o: TutorialOptions): Promise<TutorialClient> {
  const client = twilio(o.accountSid, o.authToken);
  client.taskrouter.baseUrl = o.baseUrl;
  client.conversations.baseUrl = o.baseUrl;
  const log: TutorialClient['log'] = [];
  const inFlight = new Set<Promise<void>>();
  let url = '';

  const onReservationAccepted = async (p: URLSearchParams): Promise<string> => {
    if (p.get('EventType') !== 'reservation.accepted') return 'ignored';
    const attributes = JSON.parse(p.get('TaskAttributes') ?? '{}') as { conversationSid?: string };
    if (attributes.conversationSid === undefined) return 'no conversation';
    const conversation = client.conversations.v1.conversations(attributes.conversationSid);
    await conversation.webhooks.create({ target: 'webhook', 'configuration.url': `${url}/conversation-events`, 'configuration.method': 'post', 'configuration.filters': ['onConversationStateUpdated'] });
    await conversation.update({ 'timers.inactive': o.inactiveTimer ?? 'PT1M' });
    return 'timer set';
  };

  const onStateUpdated = async (p: URLSearchParams, signature: string, fullUrl: string): Promise<string> => {
    if (!twilio.validateRequest(o.authToken, signature, fullUrl, Object.fromEntries(p))) return 'bad signature';
    if (p.get('StateTo') !== 'inactive' || p.get('Reason') !== 'TIMER') return 'ignored';
    const conversationSid = p.get('ConversationSid') ?? '';
    const tasks = await client.taskrouter.v1.workspaces(o.workspaceSid).tasks.list({ evaluateTaskAttributes: `conversationSid == "${conversationSid}"`, assignmentStatus: ['assigned', 'wrapping'] });
    if (tasks.length !== 1) return `${tasks.length} tasks`;
    await client.taskrouter.v1.workspaces(o.workspaceSid).tasks(tasks[0]!.sid).update({ assignmentStatus: 'completed', reason: 'inactivity-timeout' });
    const conversation = client.conversations.v1.conversations(conversationSid);
    await conversation.messages.create({ author: 'system', body: o.timeoutMessage ?? 'Your session has timed out.' });
    await conversation.update({ state: 'closed' });
    return 'timed out';
  };

  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const work = (async () => {
      const body = await readBody(req);
      const p = new URLSearchParams(body);
      const path = (req.url ?? '').split('?')[0] ?? '';
      try {
        const action =
          path === '/taskrouter-events' ? await onReservationAccepted(p) : path === '/conversation-events' ? await onStateUpdated(p, String(req.headers['x-twilio-signature'] ?? ''), `${url}${req.url ?? ''}`) : 'unknown';
        log.push({ path, action });
        res.writeHead(action === 'bad signature' ? 403 : 200).end();
      } catch (error) {
        log.push({ path, action: `error: ${(error as Error).message}` });
        res.writeHead(500).end();
      }
    })();
    inFlight.add(work);
    void work.finally(() => inFlight.delete(work));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    server,
    log,
    idle: async () => {
      while (inFlight.size > 0) await Promise.all([...inFlight]);
    },
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
