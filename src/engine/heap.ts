/**
 * A binary min-heap. The engine uses it with lazy deletion: an entry that no longer matters
 * stays in the heap until it reaches the top (or a compaction) and is recognised as stale there.
 * That keeps every routing step O(log n) without search-and-remove.
 *
 * The order is given as two numeric keys, compared in turn, and a tie-break for entries whose
 * keys are both equal. The keys are computed once per push and kept in typed arrays beside the
 * entries, so sifting compares numbers in contiguous memory instead of following a pointer to
 * each entry (and from there to its worker or task) at every step: with thousands of entries
 * per heap, those pointer chases were most of the time a pop took.
 */
export interface HeapOrder<T> {
  /** Compared first, smallest first. */
  major(item: T): number;
  /** Compared when the major keys are equal, smallest first. */
  minor(item: T): number;
  /** `a` comes out before `b` when both keys are equal; must make the order strict and total. */
  tieBefore(a: T, b: T): boolean;
}

export class Heap<T> {
  private items: T[] = [];
  private majors = new Float64Array(16);
  private minors = new Float64Array(16);
  private readonly order: HeapOrder<T>;

  constructor(order: HeapOrder<T>) {
    this.order = order;
  }

  get size(): number {
    return this.items.length;
  }

  push(item: T): void {
    const items = this.items;
    const major = this.order.major(item);
    const minor = this.order.minor(item);
    let i = items.length;
    if (i === this.majors.length) this.grow();
    items.push(item);
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.before(major, minor, item, this.majors[parent] as number, this.minors[parent] as number, items[parent] as T)) break;
      this.move(parent, i);
      i = parent;
    }
    this.place(i, item, major, minor);
  }

  peek(): T | undefined {
    return this.items[0];
  }

  pop(): T | undefined {
    const items = this.items;
    const top = items[0];
    const n = items.length - 1;
    if (n < 0) return undefined;
    const major = this.majors[n] as number;
    const minor = this.minors[n] as number;
    const last = items.pop() as T;
    if (n > 0) this.siftDownFrom(0, last, major, minor);
    return top;
  }

  /** Keeps only the entries for which `keep` is true, in O(n). */
  filter(keep: (item: T) => boolean): void {
    const items = this.items;
    let n = 0;
    for (let i = 0; i < items.length; i++) {
      const item = items[i] as T;
      if (!keep(item)) continue;
      this.place(n++, item, this.majors[i] as number, this.minors[i] as number);
    }
    items.length = n;
    for (let i = (n >> 1) - 1; i >= 0; i--) this.siftDownFrom(i, items[i] as T, this.majors[i] as number, this.minors[i] as number);
  }

  /** All entries in no particular order (read-only use). */
  unordered(): readonly T[] {
    return this.items;
  }

  /** Does the entry with keys (aMajor, aMinor) come out before the one with (bMajor, bMinor)? */
  private before(aMajor: number, aMinor: number, a: T, bMajor: number, bMinor: number, b: T): boolean {
    if (aMajor !== bMajor) return aMajor < bMajor;
    if (aMinor !== bMinor) return aMinor < bMinor;
    return this.order.tieBefore(a, b);
  }

  /** Sifts `item` (with its keys) down from index `start`, which it is to fill. */
  private siftDownFrom(start: number, item: T, major: number, minor: number): void {
    const items = this.items;
    const majors = this.majors;
    const minors = this.minors;
    const n = items.length;
    let i = start;
    for (;;) {
      const left = 2 * i + 1;
      if (left >= n) break;
      const right = left + 1;
      let child = left;
      if (right < n && this.before(majors[right] as number, minors[right] as number, items[right] as T, majors[left] as number, minors[left] as number, items[left] as T)) {
        child = right;
      }
      if (!this.before(majors[child] as number, minors[child] as number, items[child] as T, major, minor, item)) break;
      this.move(child, i);
      i = child;
    }
    this.place(i, item, major, minor);
  }

  private move(from: number, to: number): void {
    this.items[to] = this.items[from] as T;
    this.majors[to] = this.majors[from] as number;
    this.minors[to] = this.minors[from] as number;
  }

  private place(i: number, item: T, major: number, minor: number): void {
    this.items[i] = item;
    this.majors[i] = major;
    this.minors[i] = minor;
  }

  private grow(): void {
    const majors = new Float64Array(this.majors.length * 2);
    majors.set(this.majors);
    this.majors = majors;
    const minors = new Float64Array(this.minors.length * 2);
    minors.set(this.minors);
    this.minors = minors;
  }
}
