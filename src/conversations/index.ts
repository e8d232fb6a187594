/**
 * The conversations core's public surface (issue 13; spec conversations-events-analytics.md part A
 * and C): the ConversationsCenter state machine (conversations, participants, messages, scoped
 * webhooks, account and address configuration, state timers), its plain data, ISO 8601 durations
 * and the post-event webhook vocabulary. docs/conversations.md explains the model and decisions.
 */
export {
  ConversationsCenter,
  type AddressInput,
  type CenterChanges,
  type CenterOptions,
  type CenterSnapshot,
  type ConversationInput,
  type MessageInput,
  type ParticipantInput,
  type WebhookInput,
  type WriteContext,
} from './center.ts';
export {
  ConversationError,
  type AccountConfiguration,
  type AddressConfiguration,
  type AddressRouting,
  type Attributes,
  type Conversation,
  type ConversationEffect,
  type ConversationEvent,
  type ConversationOutcome,
  type ConversationState,
  type Message,
  type MessagingBinding,
  type Participant,
  type ScopedWebhook,
  type StateReason,
} from './model.ts';
export { ADDRESS_TYPES } from './addresses.ts';
export { MAX_BODY_LENGTH, MAX_SCOPED_WEBHOOKS } from './messages.ts';
export { MAX_CHAT_PARTICIPANTS, MAX_MESSAGING_PARTICIPANTS } from './participants.ts';
export { formatDuration, MAX_TIMER_SECONDS, MIN_CLOSED_SECONDS, MIN_INACTIVE_SECONDS, parseDuration, parseTimer } from './durations.ts';
export { ACCOUNT_FILTERS, keywordMatches, POST_EVENTS, PRE_EVENTS, SCOPED_FILTERS } from './webhooks.ts';
