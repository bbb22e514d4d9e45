/** mulberry32: small, fast and good enough to spread fuzz inputs; not for anything secret. */
export function prng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Seeded choices for fuzz tests, so a failure names its seed and reproduces. */
export class Random {
  constructor(readonly next: () => number) {}

  int(max: number): number {
    return Math.floor(this.next() * max);
  }

  chance(p: number): boolean {
    return this.next() < p;
  }

  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)];
  }

  bytes(length: number): Buffer {
    const out = Buffer.allocUnsafe(length);
    for (let i = 0; i < length; i++) out[i] = this.int(256);
    return out;
  }

  /** Printable ASCII with the given characters over-represented (those that matter to URLs and forms). */
  text(maxLength: number, special: readonly string[]): string {
    let out = '';
    const length = this.int(maxLength + 1);
    for (let i = 0; i < length; i++) out += this.chance(0.2) ? this.pick(special) : String.fromCharCode(32 + this.int(95));
    return out;
  }
}
