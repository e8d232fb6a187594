/**
 * The conversations' state timers as data (spec conversations-events-analytics.md A2): one
 * deadline (epoch ms) per conversation at most — its next state change — in a binary min-heap
 * ordered by (instant, conversation SID), with lazy invalidation: {@link DeadlineQueue.set}
 * records the current deadline of a conversation and pushes a new entry; an entry whose instant is
 * no longer its conversation's deadline is stale and dropped when it reaches the top (or at a
 * compaction, once stale entries outnumber live ones). Every query is O(log n) amortized.
 *
 * The order depends only on the live deadlines, never on the heap's history, so a queue rebuilt
 * from the same deadlines (a restored center) answers exactly as the original.
 */

interface Entry {
  at: number;
  sid: string;
}

function before(a: Entry, b: Entry): boolean {
  return a.at < b.at || (a.at === b.at && a.sid < b.sid);
}

export class DeadlineQueue {
  private heap: Entry[] = [];
  /** The live deadline of each conversation that has one. */
  private readonly current = new Map<string, number>();

  /** Number of conversations with a deadline. */
  get size(): number {
    return this.current.size;
  }

  /** Sets (or, with null, clears) the deadline of conversation `sid`. */
  set(sid: string, at: number | null): void {
    if (at === null) {
      this.current.delete(sid);
      return;
    }
    if (this.current.get(sid) === at) return;
    this.current.set(sid, at);
    this.push({ at, sid });
    if (this.heap.length > 2 * this.current.size + 64) this.compact();
  }

  /** The live deadline of `sid`, or null. */
  get(sid: string): number | null {
    return this.current.get(sid) ?? null;
  }

  /** The earliest live deadline by (instant, SID), or null; drops stale entries on the way. */
  peek(): { at: number; sid: string } | null {
    for (;;) {
      const top = this.heap[0];
      if (top === undefined) return null;
      if (this.current.get(top.sid) === top.at) return { at: top.at, sid: top.sid };
      this.pop();
    }
  }

  private push(e: Entry): void {
    const h = this.heap;
    let i = h.length;
    h.push(e);
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const p = h[parent] as Entry;
      if (!before(e, p)) break;
      h[i] = p;
      i = parent;
    }
    h[i] = e;
  }

  private pop(): void {
    const h = this.heap;
    const last = h.pop();
    if (last === undefined || h.length === 0) return;
    this.siftDown(0, last);
  }

  private siftDown(start: number, e: Entry): void {
    const h = this.heap;
    const n = h.length;
    let i = start;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      const child = r < n && before(h[r] as Entry, h[l] as Entry) ? r : l;
      if (!before(h[child] as Entry, e)) break;
      h[i] = h[child] as Entry;
      i = child;
    }
    h[i] = e;
  }

  /** Keeps the live entries only (one per conversation) and re-heapifies. */
  private compact(): void {
    this.heap = [...this.current].map(([sid, at]) => ({ at, sid }));
    for (let i = (this.heap.length >> 1) - 1; i >= 0; i--) this.siftDown(i, this.heap[i] as Entry);
  }
}
