/** A stored command with the simulator's own bookkeeping beside the resource the API shows. */
export interface StoredEntry<R extends { sid: string }> {
  /** Creation order; page tokens point at it, so pages stay stable while new commands arrive. */
  seq: number;
  resource: R;
  deleted: boolean;
}

export interface PageCursor {
  /** 'older': entries created before `seq`; 'newer': entries created after it. */
  direction: 'older' | 'newer';
  seq: number;
}

export interface Page<E> {
  items: E[];
  hasNewer: boolean;
  hasOlder: boolean;
}

/**
 * Commands by SID and in creation order, dropping the oldest past a bound (the vendors keep 30 days;
 * a benchmark must not grow memory without limit).
 */
export class CommandStore<R extends { sid: string }, E extends StoredEntry<R> = StoredEntry<R>> {
  readonly #bySid = new Map<string, E>();
  /** Ascending seq from #head on; entries before #head were dropped and await compaction. */
  #order: E[] = [];
  #head = 0;
  #nextSeq = 1;

  constructor(private readonly max: number) {}

  get size(): number {
    return this.#bySid.size;
  }

  nextSeq(): number {
    return this.#nextSeq++;
  }

  add(entry: E): void {
    this.#bySid.set(entry.resource.sid, entry);
    this.#order.push(entry);
    while (this.#bySid.size > this.max) {
      const oldest = this.#order[this.#head++];
      if (!oldest.deleted) this.#bySid.delete(oldest.resource.sid);
    }
    if (this.#head > 1024 && this.#head * 2 > this.#order.length) {
      this.#order = this.#order.slice(this.#head);
      this.#head = 0;
    }
  }

  get(sid: string): E | undefined {
    return this.#bySid.get(sid);
  }

  delete(sid: string): boolean {
    const entry = this.#bySid.get(sid);
    if (entry === undefined) return false;
    entry.deleted = true;
    this.#bySid.delete(sid);
    return true;
  }

  /** Oldest first. */
  all(): E[] {
    const out: E[] = [];
    for (let i = this.#head; i < this.#order.length; i++) if (!this.#order[i].deleted) out.push(this.#order[i]);
    return out;
  }

  /** Newest first, as the APIs list. */
  page(match: (entry: E) => boolean, size: number, cursor: PageCursor | null): Page<E> {
    const order = this.#order;
    const head = this.#head;
    const ok = (i: number): boolean => !order[i].deleted && match(order[i]);
    const items: E[] = [];
    if (cursor === null || cursor.direction === 'older') {
      // Index of the newest entry to consider: below cursor.seq, or the newest of all.
      const top = cursor === null ? order.length - 1 : this.#firstAtOrAbove(cursor.seq) - 1;
      let i = top;
      for (; i >= head && items.length < size; i--) if (ok(i)) items.push(order[i]);
      let hasOlder = false;
      for (; i >= head && !hasOlder; i--) hasOlder = ok(i);
      let hasNewer = false;
      for (let j = top + 1; j < order.length && !hasNewer; j++) hasNewer = ok(j);
      return { items, hasNewer, hasOlder };
    }
    const bottom = this.#firstAtOrAbove(cursor.seq + 1);
    let i = bottom;
    for (; i < order.length && items.length < size; i++) if (ok(i)) items.push(order[i]);
    let hasNewer = false;
    for (; i < order.length && !hasNewer; i++) hasNewer = ok(i);
    let hasOlder = false;
    for (let j = bottom - 1; j >= head && !hasOlder; j--) hasOlder = ok(j);
    items.reverse();
    return { items, hasNewer, hasOlder };
  }

  #firstAtOrAbove(seq: number): number {
    let lo = this.#head;
    let hi = this.#order.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.#order[mid].seq < seq) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}
