/**
 * Delivery of the conversations core's post-event webhooks (outbox kind `conversation.webhook`;
 * spec conversations-events-analytics.md A6): a form POST (or a GET with the parameters in the
 * query) signed with the account's auth token (`X-Twilio-Signature`, spec §11), answered within
 * 5 s. A 2xx is done; anything else rejects, and the dispatcher retries the row with backoff and
 * jitter (its `deliveryRetries`, default 3 — CEA A6 [DECISION]), `RetryCount` counting the tries.
 * Rows of one account go out in order (one lane per account, destination `conversations`).
 */
import type { OutboxDeliverer, OutboxDelivery } from '../runtime/outbox.ts';
import type { ConversationWebhookPayload } from '../runtime/conversations-hosting.ts';
import type { Runtime } from '../runtime/runtime.ts';
import { twilioSignature } from '../runtime/signature.ts';
import type { PostClient } from './http-post.ts';

/** Seconds a receiver has to answer (A6). */
export const CONVERSATION_WEBHOOK_TIMEOUT_MS = 5_000;

/** The deliverer of `conversation.webhook` rows (for `DispatcherOptions.deliverers`). */
export function conversationWebhookDeliverer(runtime: Runtime, client: PostClient): OutboxDeliverer {
  return {
    destination: 'conversations',
    guarantee: 'at-least-once',
    orderKey: () => 'webhooks',
    deliver: async (d: OutboxDelivery) => {
      const p = JSON.parse(d.payload) as ConversationWebhookPayload;
      const params = { ...p.params, RetryCount: String(d.attempts) };
      const token = runtime.authToken(p.accountSid);
      const body = new URLSearchParams(params).toString();
      const url = p.method === 'GET' ? `${p.url}${p.url.includes('?') ? '&' : '?'}${body}` : p.url;
      const headers: Record<string, string> = {
        'x-twilio-signature': twilioSignature(token, url, p.method === 'GET' ? {} : params),
        'i-twilio-idempotency-token': `${d.workspaceSid}-${d.id}`,
        'user-agent': 'Switchboard-Conversations/1.0',
      };
      if (p.method === 'POST') headers['content-type'] = 'application/x-www-form-urlencoded; charset=utf-8';
      const reply = await client.post(url, p.method === 'GET' ? '' : body, { headers, timeoutMs: CONVERSATION_WEBHOOK_TIMEOUT_MS, method: p.method });
      if (reply.status < 200 || reply.status > 299) throw new Error(`${p.params['EventType'] ?? 'webhook'} to ${p.url}: HTTP ${reply.status}`);
    },
  };
}
