/**
 * A binary min-heap ordered by a comparator. The engine uses it with lazy deletion: an entry
 * that no longer matters stays in the heap until it reaches the top (or a compaction) and is
 * recognised as stale there. That keeps every routing step O(log n) without search-and-remove.
 */
export class Heap<T> {
  private items: T[] = [];
  private readonly before: (a: T, b: T) => boolean;

  /** `before(a, b)` is true when `a` must come out before `b`; it must be a strict total order. */
  constructor(before: (a: T, b: T) => boolean) {
    this.before = before;
  }

  get size(): number {
    return this.items.length;
  }

  push(item: T): void {
    const items = this.items;
    let i = items.length;
    items.push(item);
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const p = items[parent] as T;
      if (!this.before(item, p)) break;
      items[i] = p;
      i = parent;
    }
    items[i] = item;
  }

  peek(): T | undefined {
    return this.items[0];
  }

  pop(): T | undefined {
    const items = this.items;
    const top = items[0];
    const last = items.pop();
    if (items.length > 0 && last !== undefined) this.siftDown(last);
    return top;
  }

  /** Keeps only the entries for which `keep` is true, in O(n). */
  filter(keep: (item: T) => boolean): void {
    this.items = this.items.filter(keep);
    for (let i = (this.items.length >> 1) - 1; i >= 0; i--) this.siftDownFrom(i);
  }

  /** All entries in no particular order (read-only use). */
  unordered(): readonly T[] {
    return this.items;
  }

  private siftDown(item: T): void {
    this.items[0] = item;
    this.siftDownFrom(0);
  }

  private siftDownFrom(start: number): void {
    const items = this.items;
    const n = items.length;
    const item = items[start] as T;
    let i = start;
    for (;;) {
      const left = 2 * i + 1;
      if (left >= n) break;
      const right = left + 1;
      let child = left;
      if (right < n && this.before(items[right] as T, items[left] as T)) child = right;
      const c = items[child] as T;
      if (!this.before(c, item)) break;
      items[i] = c;
      i = child;
    }
    items[i] = item;
  }
}
