/**
 * The offer decision (spec callbacks-and-ewt §4, widget states §1.5), the phrases a voice
 * prompt speaks, and the ECBT — estimated callback time — of §3.3. All pure functions; times
 * in SECONDS unless a name says `…Ms` / `…Minutes`.
 */
import { qlmExpectedWait } from '../analytics/ewt.ts';
import { openingAt, type CallTarget } from './call-target.ts';

/** Widget states of Mindful's status endpoint (§1.5). Flows offer only on the first two. */
export type WidgetState = 'offer_callback' | 'offer_asap_callback' | 'offer_scheduled_callback' | 'display_ewt_only' | 'platform_unavailable';

/** Why a state was chosen (for logs, take-rate reports and tests). */
export type OfferReason =
  | 'eligible'
  | 'registration_off'
  | 'processing_off'
  | 'closed'
  | 'max_requested'
  | 'ecbt_above_max'
  | 'ewt_below_threshold'
  | 'no_staffed_agent'
  | 'not_returnable_before_close'
  | 'asap_disabled'
  | 'unknown_ewt';

/** What {@link decideOffer} reads about the caller and the call target now. */
export interface OfferInput {
  /** Epoch ms. */
  now: number;
  /** EWT of the caller from the default predictor (`qlm_calibrated`), seconds; null when unknown. */
  ewtSeconds: number | null;
  /** ECBT for a callback registered now (see {@link computeEcbt}), seconds; null when unknown. */
  ecbtSeconds: number | null;
  /** Non-terminal callbacks of the target (pending + scheduled). */
  pendingCallbacks: number;
  /** Workers of the target's queue who are staffed (not offline) on its channel. */
  staffedWorkers: number;
  /** Where the offer is made: the voice IVR or the widget/API (decides which scheduled flag applies). */
  channel: 'voice' | 'api';
}

/** The answer of {@link decideOffer}: the widget state, why, what may be offered and the phrases to speak. */
export interface OfferDecision {
  widgetState: WidgetState;
  reason: OfferReason;
  offerAsap: boolean;
  offerScheduled: boolean;
  /** The EWT quoted, seconds (rounded up to whole seconds) or null. */
  ewtSeconds: number | null;
  /** The ECBT a callback would get, seconds, or null. */
  ecbtSeconds: number | null;
  /** What the prompt says about the wait before offering: "about 4 minutes", "more than 10 minutes". */
  phrase: string | null;
  /** The ECBT as announced at offer time (per `quote.playback`), e.g. "between 8 and 10 minutes". */
  ecbtPhrase: string | null;
}

/**
 * Decides what to offer a caller who is about to queue or is holding (§4 eligibility, all
 * required for an ASAP offer): registration on; open and returnable before close
 * (`now + ecbt + 300 s` < close, §1.4 `hoursOfOperation`); pending < `maxRequestedCallbacks`;
 * ECBT ≤ `maxEcbtSeconds`; EWT ≥ `offer.minEwtSeconds`; ≥ 1 staffed worker (else scheduled
 * only). Numbers (valid, blocked, duplicate) are checked at registration, not here.
 */
export function decideOffer(target: CallTarget, input: OfferInput): OfferDecision {
  const ewt = input.ewtSeconds === null ? null : Math.ceil(Math.max(0, input.ewtSeconds));
  const ecbt = input.ecbtSeconds === null ? null : Math.ceil(Math.max(0, input.ecbtSeconds));
  const scheduledAllowed = input.channel === 'voice' ? target.offer.scheduledVoice : target.offer.scheduledApi;
  const base = { ewtSeconds: ewt, ecbtSeconds: ecbt, phrase: ewt === null ? null : waitPhrase(ewt, target.quote.capSeconds), ecbtPhrase: null as string | null };
  const quoteOnly = (reason: OfferReason): OfferDecision => ({ ...base, widgetState: 'display_ewt_only', reason, offerAsap: false, offerScheduled: false });
  const scheduledOnly = (reason: OfferReason): OfferDecision =>
    scheduledAllowed ? { ...base, widgetState: 'offer_scheduled_callback', reason, offerAsap: false, offerScheduled: true } : quoteOnly(reason);

  if (!target.registerCallbacks) return quoteOnly('registration_off');
  if (!target.processCallbacks) return quoteOnly('processing_off');
  if (input.pendingCallbacks >= target.maxRequestedCallbacks) return quoteOnly('max_requested');
  const hours = openingAt(target, input.now);
  if (!hours.open) return scheduledOnly('closed');
  if (ewt === null || ecbt === null) return quoteOnly('unknown_ewt');
  if (ewt < target.offer.minEwtSeconds) return quoteOnly('ewt_below_threshold');
  if (ecbt > target.maxEcbtSeconds) return scheduledOnly('ecbt_above_max');
  if (input.staffedWorkers < 1) return scheduledOnly('no_staffed_agent');
  if (hours.closesAt !== null && input.now + (ecbt + 300) * 1000 >= hours.closesAt) return scheduledOnly('not_returnable_before_close');
  if (!target.offer.asap) return scheduledOnly('asap_disabled');
  const announced = clampEcbt(target, ecbt);
  return {
    ...base,
    ecbtPhrase: target.quote.playback === 'range' ? rangePhrase(announced) : waitPhrase(announced, Infinity),
    widgetState: scheduledAllowed ? 'offer_callback' : 'offer_asap_callback',
    reason: 'eligible',
    offerAsap: true,
    offerScheduled: scheduledAllowed,
  };
}

/** The announced ECBT: `quote.minEcbtSeconds` ≤ value ≤ `quote.maxEcbtSeconds` (§1.4 floor/ceiling). */
export function clampEcbt(target: Pick<CallTarget, 'quote'>, ecbtSeconds: number): number {
  return Math.min(target.quote.maxEcbtSeconds, Math.max(target.quote.minEcbtSeconds, ecbtSeconds));
}

function minutes(n: number): string {
  return n === 1 ? '1 minute' : `${n} minutes`;
}

/**
 * The wait as a prompt says it (§4 quoting, §9.9): at or above `capSeconds` "more than N
 * minutes" with N = cap in minutes (Mindful: "more than 10 minutes" at the 600 s cap); below it
 * "about N minutes" with N = seconds rounded UP to whole minutes, at least 1.
 */
export function waitPhrase(seconds: number, capSeconds: number): string {
  if (seconds >= capSeconds) return `more than ${minutes(Math.floor(capSeconds / 60))}`;
  return `about ${minutes(Math.max(1, Math.ceil(seconds / 60)))}`;
}

/**
 * The ECBT range in whole minutes (§3.3): low = ⌈ecbt/60⌉, high = low + max(2, ⌈20 % of low⌉).
 * 450 s → [8, 10] ("between 8 and 10 minutes", Mindful's example).
 */
export function ecbtRange(seconds: number): { lowMinutes: number; highMinutes: number } {
  const low = Math.max(1, Math.ceil(seconds / 60));
  return { lowMinutes: low, highMinutes: low + Math.max(2, Math.ceil(0.2 * low)) };
}

/** "between L and H minutes" for an ECBT in seconds (see {@link ecbtRange}). */
export function rangePhrase(seconds: number): string {
  const r = ecbtRange(seconds);
  return `between ${r.lowMinutes} and ${r.highMinutes} minutes`;
}

/**
 * The reschedule menu of §2.1 step 3: 10, 20 … 90 minutes, leaving out choices below the
 * current ECBT rounded up to whole minutes (ECBT 34 min → 40 … 90; §9.6).
 */
export function rescheduleChoices(ecbtSeconds: number): number[] {
  const floor = Math.ceil(ecbtSeconds / 60);
  const out: number[] = [];
  for (let m = 10; m <= 90; m += 10) if (m >= floor) out.push(m);
  return out;
}

/** What the ECBT computation reads; produced by the callback center from the queue view and its statistics. */
export interface EcbtInput {
  /** Entries ahead in the virtual queue (live waiting tasks + pending ASAP callbacks ordered before). */
  position: number;
  /** Of those, live callers (they may abandon; virtual callers do not). */
  liveAhead: number;
  /** Busy worker slots of the pool. */
  busyServers: number;
  /** Free worker slots of the pool (they take the first ones ahead at once). */
  idleServers: number;
  /** Staffed workers of the pool (busy or not), for the fallback. */
  staffed: number;
  /** Service rate per slot, 1/s (1/AHT of recent tasks); 0 when unknown. */
  muPerSecond: number;
  /** Abandonment rate per waiting live caller, 1/s; 0 when unknown. */
  thetaPerSecond: number;
  /** Observed agent answers per second (EWMA over 15 min) or 0 when under 5 answers were seen. */
  answerRatePerSecond: number;
  /** Seconds of `minimumCallbackDelaySeconds` still to run. */
  minimumDelaySeconds: number;
  /** CF lead time (median dial → ready), s; 0 for agent-first. */
  leadTimeSeconds: number;
  /** Adaptive correction, clamp(0.5, 2, EWMA of actual ÷ quoted). */
  factor: number;
}

/** Seed AHT when nothing was measured yet (Mindful on-prem seeds PCWT with Default AHT ÷ Default Agents, §3.1). */
export const DEFAULT_AHT_SECONDS = 180;

/**
 * ECBT in seconds (§3.3, with the simplifications listed in docs/callbacks.md):
 * wait = QLm over the n = position − idle entries that must be served first, s = busy slots,
 * μ = muPerSecond, abandonment applied only to the live share of the line
 * (Σ_{k=0}^{n} 1/(sμ + k·θ·live/position)); when s·μ is unknown, (n+1)/r̂ from the answer rate;
 * when that is unknown too, (n+1)·AHT₀/max(1, staffed). Result =
 * (max(wait, minimumDelay) + leadTime) × factor. The spec adds the delay to the wait; we take the
 * larger because the minimum delay runs while the line moves ([DECISION] in docs/callbacks.md).
 */
export function computeEcbt(i: EcbtInput): { seconds: number; waitSeconds: number; method: 'free_agent' | 'qlm' | 'answer_rate' | 'default_aht' } {
  const n = Math.max(0, i.position - i.idleServers);
  let wait: number;
  let method: 'free_agent' | 'qlm' | 'answer_rate' | 'default_aht';
  if (i.idleServers > i.position) {
    wait = 0;
    method = 'free_agent';
  } else if (i.busyServers > 0 && i.muPerSecond > 0) {
    const liveShare = i.position > 0 ? Math.min(1, i.liveAhead / i.position) : 0;
    wait = qlmExpectedWait(n, i.busyServers, i.muPerSecond, i.thetaPerSecond * liveShare);
    method = 'qlm';
  } else if (i.answerRatePerSecond > 0) {
    wait = (n + 1) / i.answerRatePerSecond;
    method = 'answer_rate';
  } else {
    wait = ((n + 1) * DEFAULT_AHT_SECONDS) / Math.max(1, i.staffed);
    method = 'default_aht';
  }
  const seconds = (Math.max(wait, i.minimumDelaySeconds) + i.leadTimeSeconds) * i.factor;
  return { seconds, waitSeconds: wait, method };
}
