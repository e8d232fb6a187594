/**
 * A small seeded pseudo-random generator for simulations and tests. The engine itself never
 * draws random numbers; drivers that need randomness pass one of these in.
 *
 * Algorithm: sfc32 (Chris Doty-Humphrey's Small Fast Counting generator, from PractRand),
 * seeded through splitmix32 so that nearby seeds give unrelated streams.
 */

/** Serializable generator state: four 32-bit words. */
export type RandomState = [number, number, number, number];

export class Random {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  /** `seed` is any integer; the same seed always gives the same sequence. */
  constructor(seed: number) {
    let s = seed >>> 0;
    const next = (): number => {
      s = (s + 0x9e3779b9) >>> 0;
      let z = s;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.a = next();
    this.b = next();
    this.c = next();
    this.d = next();
    for (let i = 0; i < 12; i++) this.nextUint32();
  }

  /** A uniformly distributed unsigned 32-bit integer. */
  nextUint32(): number {
    const t = (((this.a + this.b) >>> 0) + this.d) >>> 0;
    this.d = (this.d + 1) >>> 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) >>> 0;
    this.c = ((this.c << 21) | (this.c >>> 11)) >>> 0;
    this.c = (this.c + t) >>> 0;
    return t;
  }

  /** A float in [0, 1). */
  next(): number {
    return this.nextUint32() / 4294967296;
  }

  /** An integer in [min, max] (both inclusive). */
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }

  /** True with probability `p`. */
  chance(p: number): boolean {
    return this.next() < p;
  }

  /** One element of a non-empty array. */
  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new RangeError('pick() needs a non-empty array');
    return items[Math.floor(this.next() * items.length)] as T;
  }

  /** An exponentially distributed value with the given mean. */
  exponential(mean: number): number {
    return -Math.log(1 - this.next()) * mean;
  }

  /** The current state, to restore an identical generator later. */
  save(): RandomState {
    return [this.a, this.b, this.c, this.d];
  }

  /** A generator that continues exactly where `state` was saved. */
  static restore(state: RandomState): Random {
    const r = new Random(0);
    [r.a, r.b, r.c, r.d] = state;
    return r;
  }
}
