/**
 * The SID generator of a live workspace. Deterministic for its seed and state (a workspace
 * rebuilt from its command log gets the same SIDs again, DESIGN.md rule 2), in one of two schemes
 * fixed when the workspace is created and stored with it (`workspaces.sid_scheme`):
 *
 * - scheme 0 (`random`, workspaces created before schema version 3): every SID is random-looking,
 *   exactly {@link RandomSids} for the seed;
 * - scheme 1 (`ordered-events`, the default since): event SIDs (EV) count up — `EV`, the first 16
 *   hex digits of the workspace's own SID, then a 16-hex-digit counter — and every other SID is
 *   random-looking as before. Events are stored under a primary key on their SID; random keys put
 *   each new event on a random page of that index, so every commit rewrote about one 4 KiB index
 *   page per event into the WAL (measured: 3–4× the WAL volume and most of the commit time).
 *   Counting keys land on the same few pages. The workspace SID's digits keep two workspaces'
 *   event SIDs apart (the workspace SID is unique, and its first 64 bits differ between any two
 *   workspaces but with negligible probability).
 *
 * A SID stays an opaque 34-character string of the shape spec §1.1 gives (prefix + 32 hex).
 */
import { RandomSids, type SidGenerator } from '../util/sid.ts';
import type { SidState } from '../store/store.ts';

/** 0: every SID random; 1: event SIDs count up (see the module comment). */
export type SidScheme = 0 | 1;

/** The scheme new workspaces get. */
export const CURRENT_SID_SCHEME: SidScheme = 1;

const COUNTER_DIGITS = 16;
const ZEROS = '0'.repeat(COUNTER_DIGITS);

/**
 * One workspace's SID generator (see the module comment): hand {@link WorkspaceSids.next} to the
 * engine, keep {@link WorkspaceSids.save} with each snapshot and give it back to the constructor
 * (with the same seed and scheme) to go on where the snapshot left off.
 */
export class WorkspaceSids {
  readonly scheme: SidScheme;
  private readonly random: RandomSids;
  /** 16 hex digits of the workspace SID (scheme 1), known once the WS SID was made or restored. */
  private eventHead: string | null;
  /** Event SIDs made so far (scheme 1). */
  private events: number;

  /**
   * `seed`: the workspace's stored SID seed; `state`: what {@link save} returned, to continue where
   * a snapshot left off. Throws if `state` does not fit the scheme (a damaged or foreign row).
   */
  constructor(seed: number, scheme: SidScheme, state?: SidState) {
    if (scheme !== 0 && scheme !== 1) throw new Error(`unknown SID scheme ${String(scheme)}: this version knows 0 and 1`);
    this.scheme = scheme;
    this.eventHead = null;
    this.events = 0;
    if (state === undefined) {
      this.random = new RandomSids(seed);
    } else if (Array.isArray(state)) {
      if (scheme !== 0) throw new Error('SID generator state: scheme 1 needs { random, eventHead, events }');
      this.random = new RandomSids(seed, state);
    } else {
      if (scheme !== 1) throw new Error('SID generator state: scheme 0 needs the bare random state');
      if (!/^[0-9a-f]{16}$/.test(state.eventHead) || !Number.isSafeInteger(state.events) || state.events < 0) {
        throw new Error('SID generator state: eventHead must be 16 hex digits and events a count ≥ 0');
      }
      this.random = new RandomSids(seed, state.random);
      this.eventHead = state.eventHead;
      this.events = state.events;
    }
  }

  /** The generator to hand to the engine. Throws (a bug) if scheme 1 is asked for an event SID before the WS SID. */
  readonly next: SidGenerator = (prefix) => {
    if (this.scheme === 0) return this.random.next(prefix);
    if (prefix === 'EV') {
      if (this.eventHead === null) throw new Error('an event SID was asked for before the workspace SID');
      this.events += 1;
      const hex = this.events.toString(16);
      // join() builds one flat string (SIDs are Map keys; see src/util/sid.ts).
      return ['EV', this.eventHead, ZEROS.slice(hex.length), hex].join('');
    }
    const sid = this.random.next(prefix);
    if (prefix === 'WS' && this.eventHead === null) this.eventHead = sid.slice(2, 2 + COUNTER_DIGITS);
    return sid;
  };

  /** The state to keep with a snapshot (scheme 0: the bare random state, as before scheme 1 existed). */
  save(): SidState {
    const random = this.random.save();
    if (this.scheme === 0) return random;
    if (this.eventHead === null) throw new Error('the SID generator has not made the workspace SID yet');
    return { random, eventHead: this.eventHead, events: this.events };
  }
}
