/**
 * The Flex Interactions model kept by the conversations hosting (issue 13 item 2; spec
 * conversations-events-analytics.md A7 and C): an Interaction `KD…` with one Channel `UO…` bound to
 * a conversation `CH…`, whose Invites `KG…` are TaskRouter tasks, and its Participants `UT…`.
 * Stored as core rows `interaction:KD…` in the account's conversations shard. Plain data and the
 * A7 task attributes; the hosting (conversations-hosting.ts) runs the writes.
 *
 * Times are epoch milliseconds.
 */

/** Where a channel's task goes (the Interactions `Routing.properties`, parsed). */
export interface InteractionRouting {
  /** `WS…` */
  workspaceSid: string;
  /** `WW…` */
  workflowSid: string;
  /** Task channel unique name or `TC…` SID. */
  taskChannel: string;
  /** The caller's task attributes, copied verbatim onto the task. */
  attributes: Record<string, unknown>;
  priority?: number;
  /** Task TTL, seconds. */
  timeoutS?: number;
}

/** An Invite `KG…`: one task for the channel. */
export interface InteractionInvite {
  sid: string;
  workspaceSid: string;
  /** `WT…` */
  taskSid: string;
  /** The `Routing` object as the caller sent it (null for the built-in route). */
  routing: unknown;
  dateCreated: number;
}

/** A Participant `UT…` (minimal: kept as sent). */
export interface InteractionParticipant {
  sid: string;
  type: 'customer' | 'agent' | 'supervisor' | 'external' | 'unknown';
  mediaProperties: unknown;
  routingProperties: unknown;
  status: 'active' | 'closed' | 'wrapup';
  dateCreated: number;
}

export type InteractionChannelStatus = 'setup' | 'active' | 'failed' | 'closed' | 'inactive' | 'pause' | 'transfer';

/** A Channel `UO…`: the interaction's media (its conversation) and the tasks routed for it. */
export interface InteractionChannel {
  sid: string;
  /** `sms`, `whatsapp`, `chat`, `web`, … */
  type: string;
  status: InteractionChannelStatus;
  errorCode: number | null;
  errorMessage: string | null;
  /** `CH…` */
  conversationSid: string;
  initiatedBy: string;
  direction: 'inbound' | 'outbound';
  customerAddress: string | null;
  customerName: string | null;
  /** The `Channel` object as the caller sent it (echoed with the SID). */
  sent: Record<string, unknown>;
  invites: InteractionInvite[];
  participants: InteractionParticipant[];
}

export interface Interaction {
  /** `KD…` */
  sid: string;
  accountSid: string;
  channel: InteractionChannel;
  /** The `Routing` object as sent (null for the built-in route). */
  routing: unknown;
  interactionContextSid: string | null;
  webhookTtid: string | null;
  /** True when the address's built-in route made it (no Interactions call). */
  builtIn: boolean;
  dateCreated: number;
  dateUpdated: number;
}

/**
 * The task attributes of an invite (A7): what Flex's Interactions layer writes, then the caller's
 * routing attributes verbatim (a caller's `conversations` object merges into ours).
 */
export function a7Attributes(interaction: { sid: string; channel: InteractionChannel }, inviteSid: string, caller: Record<string, unknown>): Record<string, unknown> {
  const ch = interaction.channel;
  const conversations: Record<string, unknown> = {
    initiated_by: ch.initiatedBy,
    communication_channel: ch.type,
    direction: ch.direction,
    conversation_id: interaction.sid,
    media: [{ type: 'ChatTranscript', sid: ch.conversationSid, conversation_sid: ch.conversationSid }],
  };
  const ours: Record<string, unknown> = {
    conversationSid: ch.conversationSid,
    channelType: ch.type,
    ...(ch.customerAddress === null ? {} : { customerAddress: ch.customerAddress }),
    ...(ch.customerName === null ? {} : { customerName: ch.customerName }),
    direction: ch.direction,
    initiatedBy: ch.initiatedBy,
    flexInteractionSid: interaction.sid,
    flexInteractionChannelSid: ch.sid,
    flexChannelInviteSid: inviteSid,
    conversations,
  };
  const out: Record<string, unknown> = { ...ours, ...caller };
  const theirs = caller['conversations'];
  if (theirs !== null && typeof theirs === 'object' && !Array.isArray(theirs)) out['conversations'] = { ...conversations, ...(theirs as Record<string, unknown>) };
  return out;
}
