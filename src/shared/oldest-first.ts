/**
 * A Map kept in update order that hands out its oldest entry in amortised O(1).
 *
 * `map.keys().next()` looks O(1) but is not in V8: a deleted entry stays a hole in the table until
 * the next rehash, and every new iterator starts at the front and steps over all of them. Evicting
 * the oldest entry on each insertion that way costs O(size): 60 times slower at 100 000 entries. One
 * iterator kept across calls passes each hole once (V8 iterators follow the map through rehashes and
 * see entries added later), so the cost is O(1) per entry.
 *
 * But an iterator also keeps alive the table it stands on, and every table the map was rehashed into
 * since, until it moves again. While the oldest entry stays (a map filling up), that is a second copy
 * of the table. So an iterator that has not moved for as many insertions as the map holds is dropped;
 * its successor steps over the holes in front of the oldest entry once, at most the table's capacity,
 * which is a few times the size: O(1) per insertion again.
 */
export class OldestFirstMap<K, V> {
  readonly #map = new Map<K, V>();
  #cursor: Iterator<[K, V]> | undefined;
  /**
   * The entry the cursor returned last, until it is deleted. Every other entry is still ahead of the
   * cursor, so the oldest entry is this one or else the cursor's next.
   */
  #head: [K, V] | undefined;
  #insertionsSinceMove = 0;

  get size(): number {
    return this.#map.size;
  }

  get(key: K): V | undefined {
    return this.#map.get(key);
  }

  /** Adds the entry, or moves it to the newest end with its new value. */
  set(key: K, value: V): void {
    this.delete(key);
    this.#map.set(key, value);
    if (this.#cursor !== undefined && ++this.#insertionsSinceMove > this.#map.size) {
      this.#cursor = undefined;
      this.#head = undefined;
    }
  }

  delete(key: K): boolean {
    // Set again, the key goes to the end, where the cursor will meet it once more.
    if (this.#head !== undefined && this.#head[0] === key) this.#head = undefined;
    return this.#map.delete(key);
  }

  oldest(): [K, V] | undefined {
    if (this.#head === undefined) {
      this.#cursor ??= this.#map.entries();
      const next = this.#cursor.next();
      if (next.done === true) {
        // A finished iterator never moves again, not even for entries added later.
        this.#cursor = undefined;
        return undefined;
      }
      this.#head = next.value;
      this.#insertionsSinceMove = 0;
    }
    return this.#head;
  }

  clear(): void {
    this.#map.clear();
    this.#cursor = undefined;
    this.#head = undefined;
  }

  /** Oldest first. */
  entries(): IterableIterator<[K, V]> {
    return this.#map.entries();
  }
}
