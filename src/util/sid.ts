/**
 * SIDs: a two-letter prefix and 32 lowercase hex digits (spec taskrouter-semantics §1.1).
 * The engine never makes SIDs up itself: it asks an injected {@link SidGenerator}, so the
 * same commands give the same SIDs in replay and tests.
 */
import { Random, type RandomState } from './random.ts';

/** Prefixes of the resources Switchboard creates. */
export type SidPrefix = 'AC' | 'WS' | 'WA' | 'WK' | 'WQ' | 'WW' | 'WT' | 'WR' | 'WC' | 'TC' | 'EV' | 'SK' | 'CB' | 'TT';

/** Makes a new SID for a prefix. Must never return the same SID twice. */
export type SidGenerator = (prefix: SidPrefix) => string;

/**
 * LOW_HEX[n]: n (0 to 4095) as three hex digits. A counter's 24 padded hex digits are its
 * quotient by 4096 padded to 21 digits, then LOW_HEX of its remainder: the first part changes
 * once every 4,096 SIDs, so a SID costs a table read and one concatenation, not a
 * `toString(16)` (which showed in profiles of the engine benchmark).
 */
const LOW_HEX = Array.from({ length: 4096 }, (_, n) => n.toString(16).padStart(3, '0'));
const SID_PATTERN = /^[A-Z]{2}[0-9a-fA-F]{32}$/;

/** True if `value` looks like a SID with this prefix (hex digits in any case, spec §1.1). */
export function isSid(value: string, prefix?: SidPrefix): boolean {
  return SID_PATTERN.test(value) && (prefix === undefined || value.slice(0, 2) === prefix);
}

/**
 * A deterministic generator: SIDs count up from a namespace. `namespace` (0 to 2^32−1) fills the
 * first 8 hex digits so that generators of different workspaces never collide; the counter fills
 * the rest. Its state is one number, {@link SequentialSids.counter}, which a snapshot can keep.
 */
export class SequentialSids {
  counter: number;
  private readonly head: string;
  /** Per prefix: prefix + head + the first 21 hex digits of counters in {@link stemHigh}'s block of 4,096. */
  private readonly stems = new Map<string, string>();
  /** The block (counter ÷ 4096, rounded down) the stems are for; -1 before the first SID. */
  private stemHigh = -1;

  constructor(namespace = 0, counter = 0) {
    this.head = (namespace >>> 0).toString(16).padStart(8, '0');
    this.counter = counter;
  }

  readonly next: SidGenerator = (prefix) => {
    this.counter += 1;
    const counter = this.counter;
    const high = Math.floor(counter / 4096);
    if (high !== this.stemHigh) {
      this.stems.clear();
      this.stemHigh = high;
    }
    let stem = this.stems.get(prefix);
    if (stem === undefined) this.stems.set(prefix, (stem = prefix + this.head + high.toString(16).padStart(21, '0')));
    const low = LOW_HEX[counter - high * 4096] as string;
    // `+` makes a rope (a cons string) that V8 flattens into a second copy the first time the SID
    // is hashed, as resource SIDs are (Map keys); join builds the flat string at once. Event SIDs
    // are rarely hashed, and `+` is the cheaper of the two for them.
    return prefix === 'EV' ? stem + low : [stem, low].join('');
  };
}

/**
 * Random-looking SIDs from a seeded generator (sfc32, src/util/random.ts). Deterministic for a
 * seed, so a workspace whose commands are re-executed after a restart gets the same SIDs again;
 * its state ({@link RandomSids.save}) goes into snapshots.
 */
export class RandomSids {
  private random: Random;

  constructor(seed: number, state?: RandomState) {
    this.random = state === undefined ? new Random(seed) : Random.restore(state);
  }

  readonly next: SidGenerator = (prefix) => {
    let hex = '';
    for (let i = 0; i < 4; i++) hex += (this.random.nextUint32() >>> 0).toString(16).padStart(8, '0');
    return prefix + hex;
  };

  /** The generator's state, to continue exactly where it is. */
  save(): RandomState {
    return this.random.save();
  }
}
