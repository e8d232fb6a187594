/**
 * The voice core's REST resources (issue 12 item 1; docs/voice.md "REST"), in the style of the
 * rest of the API (form-encoded writes, snake_case JSON, Twilio-shaped errors and pages):
 *
 * - `/v1/Workspaces/{WS}/CallFlows[/{FW}]`: `FriendlyName`, `Definition` (the flow, JSON; see
 *   src/callflows/flow.ts). A bad definition is refused 400 with a message naming the step and field.
 * - `/v1/Workspaces/{WS}/PhoneNumbers[/{PN}]`: `PhoneNumber` (E.164, `client:…` or `sip:…`, unique
 *   across the server), `FriendlyName`, `CallFlowSid`.
 *
 * Writes go through the runtime's voice hosting (durable when answered).
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { CallFlowResource, PhoneNumberResource } from '../../runtime/voice-hosting.ts';
import { accountOf, bodyOf, originOf, pageRequest, pathOf, workspaceOf, type Api } from '../context.ts';
import { page } from '../paging.ts';
import { isoDate, workspaceUrl } from '../serializers.ts';
import { ApiError, notFound } from '../twilio-errors.ts';

const FLOWS = '/v1/Workspaces/:WorkspaceSid/CallFlows';
const NUMBERS = '/v1/Workspaces/:WorkspaceSid/PhoneNumbers';

/** A call flow as JSON. */
export function callFlowJson(origin: string, f: CallFlowResource): Record<string, unknown> {
  return {
    account_sid: f.accountSid,
    workspace_sid: f.workspaceSid,
    sid: f.sid,
    friendly_name: f.friendlyName,
    definition: f.definition,
    date_created: isoDate(f.dateCreated),
    date_updated: isoDate(f.dateUpdated),
    url: `${workspaceUrl(origin, f.workspaceSid)}/CallFlows/${f.sid}`,
  };
}

/** A phone number as JSON. */
export function phoneNumberJson(origin: string, n: PhoneNumberResource): Record<string, unknown> {
  const ws = workspaceUrl(origin, n.workspaceSid);
  return {
    account_sid: n.accountSid,
    workspace_sid: n.workspaceSid,
    sid: n.sid,
    phone_number: n.phoneNumber,
    friendly_name: n.friendlyName,
    call_flow_sid: n.callFlowSid,
    date_created: isoDate(n.dateCreated),
    date_updated: isoDate(n.dateUpdated),
    url: `${ws}/PhoneNumbers/${n.sid}`,
    links: { call_flow: `${ws}/CallFlows/${n.callFlowSid}` },
  };
}

/** `Definition`: the flow document as JSON text; 400 naming the field when it does not parse. */
function definitionOf(raw: string | undefined): unknown {
  if (raw === undefined) return undefined;
  try {
    return JSON.parse(raw) as unknown;
  } catch (error) {
    throw new ApiError(400, 20001, `Definition is not valid JSON: ${(error as Error).message}`, 'Definition');
  }
}

export function voiceResourceRoutes(app: FastifyInstance, api: Api): void {
  const voice = api.runtime.voice;
  const wsOf = (req: FastifyRequest): { accountSid: string; workspaceSid: string } => ({ accountSid: accountOf(req), workspaceSid: workspaceOf(api, req).workspace.sid });
  const sidOf = (req: FastifyRequest): string => (req.params as { Sid: string }).Sid;
  const created = (reply: FastifyReply, body: unknown): FastifyReply => reply.code(201).send(body);

  // ── call flows ──
  app.get(FLOWS, async (req) => {
    const { workspaceSid } = wsOf(req);
    const origin = originOf(api, req);
    return page(pageRequest(api, req, 'call_flows'), voice.listFlows(workspaceSid), (f) => f.sid, (f) => callFlowJson(origin, f));
  });
  app.post(FLOWS, async (req, reply) => {
    const { accountSid, workspaceSid } = wsOf(req);
    const body = bodyOf(req);
    const definition = definitionOf(body.requiredString('Definition'));
    const f = await voice.putFlow(accountSid, workspaceSid, null, { friendlyName: body.string('FriendlyName'), definition });
    return created(reply, callFlowJson(originOf(api, req), f));
  });
  app.get(`${FLOWS}/:Sid`, async (req) => {
    const { workspaceSid } = wsOf(req);
    const f = voice.getFlow(workspaceSid, sidOf(req));
    if (f === undefined) throw notFound(pathOf(req));
    return callFlowJson(originOf(api, req), f);
  });
  app.post(`${FLOWS}/:Sid`, async (req) => {
    const { accountSid, workspaceSid } = wsOf(req);
    const body = bodyOf(req);
    const f = await voice.putFlow(accountSid, workspaceSid, sidOf(req), { friendlyName: body.string('FriendlyName'), definition: definitionOf(body.string('Definition')) });
    return callFlowJson(originOf(api, req), f);
  });
  app.delete(`${FLOWS}/:Sid`, async (req, reply) => {
    const { accountSid, workspaceSid } = wsOf(req);
    await voice.deleteFlow(accountSid, workspaceSid, sidOf(req));
    return reply.code(204).send();
  });

  // ── phone numbers ──
  app.get(NUMBERS, async (req) => {
    const { workspaceSid } = wsOf(req);
    const origin = originOf(api, req);
    return page(pageRequest(api, req, 'phone_numbers'), voice.listNumbers(workspaceSid), (n) => n.sid, (n) => phoneNumberJson(origin, n));
  });
  app.post(NUMBERS, async (req, reply) => {
    const { accountSid, workspaceSid } = wsOf(req);
    const body = bodyOf(req);
    const input = { phoneNumber: body.requiredString('PhoneNumber'), callFlowSid: body.requiredString('CallFlowSid'), friendlyName: body.string('FriendlyName') };
    const n = await voice.putNumber(accountSid, workspaceSid, null, input);
    return created(reply, phoneNumberJson(originOf(api, req), n));
  });
  app.get(`${NUMBERS}/:Sid`, async (req) => {
    const { workspaceSid } = wsOf(req);
    const n = voice.getNumber(workspaceSid, sidOf(req));
    if (n === undefined) throw notFound(pathOf(req));
    return phoneNumberJson(originOf(api, req), n);
  });
  app.post(`${NUMBERS}/:Sid`, async (req) => {
    const { accountSid, workspaceSid } = wsOf(req);
    const body = bodyOf(req);
    const input = { phoneNumber: body.string('PhoneNumber'), callFlowSid: body.string('CallFlowSid'), friendlyName: body.string('FriendlyName') };
    const n = await voice.putNumber(accountSid, workspaceSid, sidOf(req), input);
    return phoneNumberJson(originOf(api, req), n);
  });
  app.delete(`${NUMBERS}/:Sid`, async (req, reply) => {
    const { accountSid, workspaceSid } = wsOf(req);
    await voice.deleteNumber(accountSid, workspaceSid, sidOf(req));
    return reply.code(204).send();
  });
}
