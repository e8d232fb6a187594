/**
 * The callback service's public surface (spec callbacks-and-ewt §1–5): call targets, offers and
 * ECBT, the CallbackCenter state machine, the datastore, and the queue view read from the
 * engine. The virtual-time driver that runs the center with a simulated network is in
 * src/sim/callback-driver.ts. docs/callbacks.md explains the model and how to drive the center.
 */
export { CallbackError, normalizeNumber, E164_PATTERN, type CallbackErrorCode } from './errors.ts';
export {
  CALL_TARGET_DEFAULTS,
  isBlocked,
  openingAt,
  resolveCallTarget,
  type CallTarget,
  type CallTargetInput,
  type OpeningHours,
  type PlaybackType,
  type RetryDelays,
  type Strategy,
  type VoicemailPolicy,
} from './call-target.ts';
export {
  clampEcbt,
  computeEcbt,
  decideOffer,
  DEFAULT_AHT_SECONDS,
  ecbtRange,
  rangePhrase,
  rescheduleChoices,
  waitPhrase,
  type EcbtInput,
  type OfferDecision,
  type OfferInput,
  type OfferReason,
  type WidgetState,
} from './offer.ts';
export {
  CALLBACK_STATUSES,
  CallbackCenter,
  DIAL_OUTCOMES,
  isTerminalStatus,
  TERMINAL_STATUSES,
  type Attempt,
  type CallbackEffect,
  type CallbackEvent,
  type CallbackRequest,
  type CallbackStatus,
  type CenterOptions,
  type CenterOutcome,
  type CenterSidGenerator,
  type CenterSnapshot,
  type DialOutcome,
  type QueueView,
  type RegisterRequest,
  type TargetStats,
} from './center.ts';
export { Datastore, withStoredContext, type DataSet, type DataSetResponse, type DataSetTemplate, type DatastoreOptions, type DatastoreSnapshot } from './datastore.ts';
export { liveEwtSeconds, queueViewOf } from './queue-view.ts';
export { hasTwilioWebhooks, type DialRequest, type DialResult, type ResumedDial, type TelephonyPort, type TwilioWebhooks } from './telephony-port.ts';
