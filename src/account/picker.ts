/**
 * The editor's SIM and Fleet picker: what the account's SIMs and Fleets offer for what the user has
 * typed. Each list is read once and kept briefly, so that typing a name (a request per pause) does
 * not list the account again and again; it is bounded, so an account with very many SIMs costs at
 * most `maxItems` entries per kind.
 */
import type { Fleet, Sim } from '../api';

export type PickerKind = 'sims' | 'fleets';

export const PICKER_KINDS: readonly PickerKind[] = ['sims', 'fleets'];

/** One suggestion: `value` goes into the field; the rest helps the user tell entries apart. */
export interface Suggestion {
  value: string;
  sid: string;
  uniqueName: string | null;
  /** SIMs only. */
  iccid?: string | null;
  status?: string | null;
}

export interface SuggestionAnswer {
  suggestions: Suggestion[];
  /** The account has more entries than the picker reads: what is not among them is not offered. */
  partial: boolean;
}

/** The part of the client the picker reads (a `SuperSimClient`). */
export interface PickerSource {
  listSims(filter: object, options: { signal?: AbortSignal }): AsyncIterable<Sim>;
  listFleets(filter: object, options: { signal?: AbortSignal }): AsyncIterable<Fleet>;
}

export interface PickerOptions {
  /** How long a list read from the API is used (default 30 s). */
  ttlMs?: number;
  /** Entries read per kind at most (default 2000). */
  maxItems?: number;
  /** Suggestions answered at most (default 20). */
  maxResults?: number;
}

/** The longest text searched for; longer is no SIM's name, SID or ICCID. */
export const MAX_QUERY_CHARS = 64;

interface Entry extends Suggestion {
  /** Unique name, SID and ICCID, lower case: what a query is looked for in. */
  haystack: readonly string[];
}

interface Listing {
  expires: number;
  entries: Promise<{ entries: Entry[]; partial: boolean }>;
}

function entryOf(resource: Sim | Fleet): Entry | undefined {
  const sid = resource.sid;
  if (typeof sid !== 'string' || sid === '') return undefined;
  const uniqueName = typeof resource.unique_name === 'string' && resource.unique_name !== '' ? resource.unique_name : null;
  const entry: Entry = { value: uniqueName ?? sid, sid, uniqueName, haystack: [] };
  const fields = [uniqueName, sid];
  if ('iccid' in resource) {
    entry.iccid = resource.iccid;
    entry.status = resource.status;
    fields.push(resource.iccid);
  }
  entry.haystack = fields.filter((f): f is string => typeof f === 'string').map((f) => f.toLowerCase());
  return entry;
}

/** Lower is better: a field equal to the query, then one starting with it, then one containing it. */
function rank(entry: Entry, query: string): number | undefined {
  let best: number | undefined;
  for (const field of entry.haystack) {
    const at = field.indexOf(query);
    if (at === -1) continue;
    const score = field.length === query.length ? 0 : at === 0 ? 1 : 2;
    if (best === undefined || score < best) best = score;
  }
  return best;
}

function publicOf(entry: Entry): Suggestion {
  const { haystack: _haystack, ...suggestion } = entry;
  return suggestion;
}

/** One account's picker lists; the account closes it with itself. */
export class Suggestions {
  readonly #source: () => PickerSource;
  readonly #ttlMs: number;
  readonly #maxItems: number;
  readonly #maxResults: number;
  readonly #listings = new Map<PickerKind, Listing>();
  readonly #abort = new AbortController();

  constructor(source: () => PickerSource, options: PickerOptions = {}) {
    this.#source = source;
    this.#ttlMs = options.ttlMs ?? 30_000;
    this.#maxItems = options.maxItems ?? 2000;
    this.#maxResults = options.maxResults ?? 20;
  }

  /** The entries of `kind` that match `query` (any part of the unique name, SID or ICCID, any case); blank matches all. */
  async suggest(kind: PickerKind, query: string): Promise<SuggestionAnswer> {
    const wanted = query.trim().slice(0, MAX_QUERY_CHARS).toLowerCase();
    const { entries, partial } = await this.#listing(kind);
    const ranked: { entry: Entry; score: number }[] = [];
    for (const entry of entries) {
      const score = wanted === '' ? 1 : rank(entry, wanted);
      if (score !== undefined) ranked.push({ entry, score });
    }
    ranked.sort((a, b) => a.score - b.score || a.entry.value.localeCompare(b.entry.value));
    return { suggestions: ranked.slice(0, this.#maxResults).map(({ entry }) => publicOf(entry)), partial };
  }

  /** Stops a list being read; what is cached is dropped. */
  close(): void {
    this.#abort.abort();
    this.#listings.clear();
  }

  #listing(kind: PickerKind): Promise<{ entries: Entry[]; partial: boolean }> {
    const now = Date.now();
    const cached = this.#listings.get(kind);
    if (cached && cached.expires > now) return cached.entries;
    const listing: Listing = { expires: now + this.#ttlMs, entries: this.#read(kind) };
    this.#listings.set(kind, listing);
    // A failure is not kept: the next keystroke asks the API again.
    listing.entries.catch(() => {
      if (this.#listings.get(kind) === listing) this.#listings.delete(kind);
    });
    return listing.entries;
  }

  async #read(kind: PickerKind): Promise<{ entries: Entry[]; partial: boolean }> {
    const source = this.#source();
    const options = { signal: this.#abort.signal };
    const listed: AsyncIterable<Sim | Fleet> = kind === 'sims' ? source.listSims({}, options) : source.listFleets({}, options);
    const entries: Entry[] = [];
    for await (const resource of listed) {
      if (entries.length >= this.#maxItems) return { entries, partial: true };
      const entry = entryOf(resource);
      if (entry) entries.push(entry);
    }
    return { entries, partial: false };
  }
}
