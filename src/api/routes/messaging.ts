/**
 * Twilio Programmable Messaging's webhooks (spec conversations-events-analytics.md C2), served for
 * the Twilio messaging adapter (src/messaging/twilio-messaging.ts):
 *
 * | route | Twilio calls it for | does |
 * |---|---|---|
 * | `/messaging/twilio/inbound` | the number's "A message comes in" webhook | `TwilioMessaging.handleInbound` → empty TwiML `<Response/>` |
 * | `/messaging/twilio/status` | status callbacks of the messages we send | logged → 204 |
 *
 * The inbound answer is always empty: replies go out through the API (the outbox), never as
 * `<Message>` TwiML. When no conversation takes a message it is logged (info) and still answered
 * empty; when the inbound side fails (the store is down) the error is logged and the answer is a
 * 500 in Twilio's error shape, so Twilio's debugger shows error 11200 for the lost message. A
 * request without `From` or `To` is a 400.
 *
 * Every request's `X-Twilio-Signature` is checked when an auth token is configured, as the voice
 * routes do (src/api/routes/voice.ts): over our public URL (`publicUrl`, else the adapter's, else
 * the request's own origin) plus the path and query; a mismatch is a 403 in Twilio's error shape.
 * The paths must match the adapter's `INBOUND_PATH` and `STATUS_PATH` (test/messaging checks it).
 */
import { signedParams } from '../twilio-webhook.ts';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { TwilioMessaging } from '../../messaging/twilio-messaging.ts';
import { ApiError, errorBody } from '../twilio-errors.ts';

/** What {@link messagingRoutes} serves from. */
export interface MessagingRoutesOptions {
  /** The Twilio messaging adapter (its inbound side attached). */
  twilio: TwilioMessaging;
  /** Twilio auth token that signs the webhooks; null: signatures are not checked. */
  authToken: string | null;
  /** Our public base URL as Twilio calls it (default: the adapter's, else the request's origin). */
  publicUrl?: string;
}

/** Status callbacks that report a message that did not reach the customer (logged as warnings). */
const FAILED_STATUSES = new Set(['failed', 'undelivered']);

/** The empty TwiML answer to an incoming message. */
const EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response/>';

const twilioError = (reply: FastifyReply, error: ApiError): FastifyReply =>
  reply.code(error.status).header('content-type', 'application/json').send(errorBody(error));

/**
 * Registers the messaging webhooks (see the module comment) on `app`, which must parse
 * `application/x-www-form-urlencoded` bodies into a record (app.ts does).
 */
export function messagingRoutes(app: FastifyInstance, options: MessagingRoutesOptions): void {
  const { twilio, authToken } = options;
  const configuredBase = options.publicUrl?.replace(/\/+$/, '');
  // The adapter's URL is read per request: a server that listens on port 0 sets it after listening.
  const baseOf = (req: FastifyRequest): string => configuredBase ?? twilio.publicUrl ?? `${req.protocol}://${req.host}`;

  /** The request's parameters once its signature checks out; null after answering 403. */
  const signed = (req: FastifyRequest, reply: FastifyReply): Record<string, string> | null => signedParams(req, reply, authToken, baseOf(req), 'messaging webhook');

  app.post('/messaging/twilio/inbound', async (req, reply) => {
    const params = signed(req, reply);
    if (params === null) return reply;
    const messageSid = params['MessageSid'];
    if (!params['From'] || !params['To']) return twilioError(reply, new ApiError(400, 20001, 'An incoming message needs From and To', params['From'] ? 'To' : 'From'));
    let taken: boolean;
    try {
      taken = await twilio.handleInbound(params);
    } catch (err) {
      req.log.error({ err, url: req.url, messageSid }, 'incoming message failed; it is in no conversation');
      return twilioError(reply, new ApiError(500, 20500, 'The incoming message could not be stored'));
    }
    if (!taken) req.log.info({ messageSid, from: params['From'], to: params['To'] }, 'incoming message taken by no conversation');
    return reply.code(200).header('content-type', 'text/xml').send(EMPTY_TWIML);
  });

  app.post('/messaging/twilio/status', async (req, reply) => {
    const params = signed(req, reply);
    if (params === null) return reply;
    const status = params['MessageStatus'] ?? params['SmsStatus'];
    const fields = { messageSid: params['MessageSid'], status, to: params['To'], errorCode: params['ErrorCode'] };
    if (status !== undefined && FAILED_STATUSES.has(status)) req.log.warn(fields, `outbound message ${status}`);
    else req.log.info(fields, 'outbound message status');
    return reply.code(204).send();
  });
}
