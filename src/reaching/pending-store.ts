import { promises as fs } from 'node:fs';
import path from 'node:path';
import { asError, newBatch, refusedPut } from './pending-writes';
import type { Batch } from './pending-writes';
import type { PendingStoreLike, StoredRecord } from './types';

export { PendingStoreFullError } from './pending-writes';

export const PENDING_FORMAT = 'node-red-contrib-supersim/pending';
export const PENDING_VERSION = 1;

const DEFAULT_MIN_INTERVAL_MS = 50;
/** A write may take at most a fifth of the time, however big the store grows. */
const WRITE_DURATION_FACTOR = 4;
/** After failed writes (a full disk), retries slow down to this. */
const MAX_FAILURE_BACKOFF_MS = 60_000;
/** Bytes per write call: the event loop gets a turn between them while a big store is saved. */
const CHUNK_BYTES = 256 * 1024;
/** fsync of a directory is not possible on every file system; there the rename is as durable as it gets. */
const DIRECTORY_SYNC_UNSUPPORTED = new Set(['EISDIR', 'EINVAL', 'EPERM', 'EACCES', 'ENOTSUP', 'EBADF']);

export interface PendingStoreOptions<R extends StoredRecord> {
  /** The store's file; its directory is created when missing. */
  file: string;
  /** Most records kept; a put of a new id past it throws PendingStoreFullError. */
  maxRecords: number;
  /** Least time between the starts of two writes (ms), default 50. */
  minIntervalMs?: number;
  /** Checks each loaded record; one that fails sets the whole file aside. */
  validate?: (value: unknown) => value is R;
  /** Every failed write (the waiting puts reject too); the store retries with backoff. */
  onWriteError?: (err: Error) => void;
}

export interface OpenedPendingStore<R extends StoredRecord> {
  store: PendingStore<R>;
  /** The records loaded from the file: the very objects the store now holds. */
  records: R[];
  /** Set when the file could not be used: what was wrong and where it was moved; for a node warning. */
  problem?: string;
}


/**
 * The durable record of one node's pending attempts: a small JSON file written atomically (temp file, fsync,
 * rename, fsync of the directory), in batches so that many changes a second cost a few writes.
 *
 * Records are held as given, not copied: a caller changes a record by putting a new object, never by
 * mutating one it has put (a write serialises whatever the object holds at that moment).
 */
export class PendingStore<R extends StoredRecord> implements PendingStoreLike<R> {
  readonly #file: string;
  readonly #temp: string;
  readonly #maxRecords: number;
  readonly #minIntervalMs: number;
  readonly #onWriteError: ((err: Error) => void) | undefined;
  readonly #records = new Map<string, R>();
  /** The changes not yet in a write, and the callers waiting for them. */
  #dirty = false;
  #batch: Batch | undefined;
  #current: Promise<Error | undefined> | undefined;
  #timer: NodeJS.Timeout | undefined;
  #lastStartedAt = Number.NEGATIVE_INFINITY;
  #failures = 0;
  #closed = false;
  #destroyed = false;
  #writes = 0;
  #lastWriteMs = 0;

  private constructor(options: PendingStoreOptions<R>, records: R[]) {
    this.#file = options.file;
    this.#temp = temporaryFileOf(options.file);
    this.#maxRecords = options.maxRecords;
    this.#minIntervalMs = options.minIntervalMs ?? DEFAULT_MIN_INTERVAL_MS;
    this.#onWriteError = options.onWriteError;
    for (const record of records) this.#records.set(record.id, record);
  }

  /**
   * Loads the file (missing = empty). A file this version cannot use is moved aside, never dropped silently
   * and never a crash: `problem` says so, and the store starts empty. A file holding more records than
   * `maxRecords` (the limit was lowered) is loaded whole; new ids are refused until it is under the limit.
   */
  static async open<R extends StoredRecord>(options: PendingStoreOptions<R>): Promise<OpenedPendingStore<R>> {
    if (!Number.isInteger(options.maxRecords) || options.maxRecords < 1) throw new RangeError(`maxRecords must be a positive integer, got ${options.maxRecords}`);
    await fs.mkdir(path.dirname(options.file), { recursive: true });
    // A temp file left by a crash never replaced the file: nothing in it was ever acknowledged.
    await fs.rm(temporaryFileOf(options.file), { force: true }).catch(() => undefined);
    const loaded = await load(options.file, options.validate);
    if ('records' in loaded) return { store: new PendingStore(options, loaded.records), records: loaded.records };
    const problem = await setAside(options.file, loaded.unusable);
    return { store: new PendingStore<R>(options, []), records: [], problem };
  }

  get size(): number {
    return this.#records.size;
  }

  /** Writes that completed, and how long the last one took (ms). */
  get writes(): number {
    return this.#writes;
  }
  get lastWriteMs(): number {
    return this.#lastWriteMs;
  }

  has(id: string): boolean {
    return this.#records.has(id);
  }

  get(id: string): R | undefined {
    return this.#records.get(id);
  }

  values(): IterableIterator<R> {
    return this.#records.values();
  }

  /** Replaces the record with its id; resolves once a write holding this version is on disk. */
  put(record: R): Promise<void> {
    const refused = refusedPut(this.#closed, this.#records, record, this.#maxRecords);
    // A closed store rejects (the node stopped meanwhile); a bad or unwelcome record is the caller's error, thrown.
    if (refused !== undefined) {
      if (this.#closed) return Promise.reject(refused);
      throw refused;
    }
    this.#records.set(record.id, record);
    return this.#changed();
  }

  /** Removes the record; resolves once a write without it is on disk. */
  delete(id: string): Promise<void> {
    if (this.#closed) return Promise.reject(new Error('The pending store is closed: the node was stopped'));
    const existed = this.#records.delete(id);
    if (!existed && !this.#dirty && this.#current === undefined) return Promise.resolve();
    return this.#changed();
  }

  /** Writes every change made so far now, without waiting for the interval; rejects if that write fails. */
  async flush(): Promise<void> {
    // A loop: another flush may have started a write while this one waited.
    while (this.#current !== undefined) await this.#current;
    if (!this.#dirty || this.#destroyed) return;
    this.#cancelTimer();
    const failure = await this.#startWrite();
    if (failure !== undefined) throw failure;
  }

  /** Flushes, then refuses further changes (their promises reject). */
  async close(): Promise<void> {
    // Closed first: a put arriving while the last write runs is refused, never left waiting forever.
    this.#closed = true;
    this.#cancelTimer();
    await this.flush();
  }

  /** Stops and removes the file (the node was deleted): its pending records are dropped. */
  async destroy(): Promise<void> {
    this.#closed = true;
    this.#destroyed = true;
    this.#cancelTimer();
    while (this.#current !== undefined) await this.#current;
    this.#batch?.reject(new Error('The pending store was removed: the node was deleted'));
    this.#batch = undefined;
    this.#dirty = false;
    this.#records.clear();
    await fs.rm(this.#file, { force: true });
    await fs.rm(this.#temp, { force: true });
  }

  #changed(): Promise<void> {
    this.#dirty = true;
    this.#batch ??= newBatch();
    this.#schedule();
    return this.#batch.promise;
  }

  #schedule(): void {
    if (this.#closed || !this.#dirty || this.#current !== undefined || this.#timer !== undefined) return;
    const failureBackoff = this.#failures === 0 ? 0 : Math.min(MAX_FAILURE_BACKOFF_MS, 1_000 * 2 ** Math.min(this.#failures - 1, 16));
    const interval = Math.max(this.#minIntervalMs, WRITE_DURATION_FACTOR * this.#lastWriteMs, failureBackoff);
    const wait = Math.max(0, this.#lastStartedAt + interval - Date.now());
    // Even with no wait, a timer lets a synchronous burst of changes finish first and share the write.
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      void this.#startWrite();
    }, wait);
    // A write keeps the process alive (a script awaiting a put gets its answer); a retry after failures does not.
    if (this.#failures > 0) this.#timer.unref();
  }

  #cancelTimer(): void {
    if (this.#timer === undefined) return;
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #startWrite(): Promise<Error | undefined> {
    const write = this.#write();
    this.#current = write;
    return write;
  }

  async #write(): Promise<Error | undefined> {
    const batch = this.#batch;
    this.#batch = undefined;
    this.#dirty = false;
    // References only: a record put while this write runs goes into the next one.
    const snapshot = Array.from(this.#records.values());
    const startedAt = Date.now();
    this.#lastStartedAt = startedAt;
    let failure: Error | undefined;
    try {
      await writeAtomically(this.#file, this.#temp, snapshot);
      this.#writes++;
      this.#failures = 0;
    } catch (err) {
      failure = asError(err);
      // The changes are still in memory: the next write carries them.
      this.#dirty = true;
      this.#failures++;
    }
    this.#lastWriteMs = Date.now() - startedAt;
    this.#current = undefined;
    if (failure === undefined) {
      batch?.resolve();
    } else {
      batch?.reject(failure);
      try {
        this.#onWriteError?.(failure);
      } catch {
        // A failing reporter must not stop the store from retrying.
      }
    }
    this.#schedule();
    return failure;
  }
}

const temporaryFileOf = (file: string): string => `${file}.tmp`;

type Loaded<R> = { records: R[] } | { unusable: string };

async function load<R extends StoredRecord>(file: string, validate: ((value: unknown) => value is R) | undefined): Promise<Loaded<R>> {
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { records: [] };
    return { unusable: `cannot be read (${(err as NodeJS.ErrnoException).code ?? asError(err).message})` };
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    // JSON.parse's message quotes the text, and the text holds users' messages: say only what is wrong.
    return { unusable: 'is not valid JSON (it may have been cut short or edited)' };
  }
  if (typeof data !== 'object' || data === null || Array.isArray(data)) return { unusable: 'is not a pending attempts file' };
  const { format, version, records } = data as Record<string, unknown>;
  if (format !== PENDING_FORMAT) return { unusable: `has format ${JSON.stringify(format)}, not "${PENDING_FORMAT}"` };
  if (version !== PENDING_VERSION) {
    const newer = typeof version === 'number' && version > PENDING_VERSION;
    return { unusable: `is version ${JSON.stringify(version)} of the format, and this version of the package reads version ${PENDING_VERSION}${newer ? ' (it was written by a newer one)' : ''}` };
  }
  if (!Array.isArray(records)) return { unusable: 'has no list of records' };
  const seen = new Set<string>();
  for (let index = 0; index < records.length; index++) {
    const record: unknown = records[index];
    const id = typeof record === 'object' && record !== null ? (record as { id?: unknown }).id : undefined;
    if (typeof id !== 'string') return { unusable: `has a record without an id (record ${index + 1})` };
    if (seen.has(id)) return { unusable: `has two records with the id ${JSON.stringify(id)}` };
    seen.add(id);
    if (validate !== undefined && !validate(record)) return { unusable: `has a record that is not a valid pending attempt (record ${index + 1}, id ${JSON.stringify(id)})` };
  }
  return { records: records as R[] };
}

/** Moves an unusable file out of the way and says so; the pending attempts in it are not resumed. */
async function setAside(file: string, unusable: string): Promise<string> {
  const aside = `${file}.unreadable-${new Date().toISOString().replace(/[:.]/g, '-')}`;
  try {
    await fs.rename(file, aside);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? asError(err).message;
    return `The pending attempts file ${file} ${unusable}, and it could not be moved aside (${code}): its attempts were not resumed, and the next save replaces it. Copy it elsewhere now to keep it.`;
  }
  return `The pending attempts file ${file} ${unusable}: it was moved to ${aside} and its attempts were not resumed. Look at it, then delete it.`;
}

async function writeAtomically(file: string, temp: string, records: readonly StoredRecord[]): Promise<void> {
  const handle = await fs.open(temp, 'w');
  try {
    let chunk = `{"format":${JSON.stringify(PENDING_FORMAT)},"version":${PENDING_VERSION},"savedAt":${JSON.stringify(new Date().toISOString())},"records":[`;
    for (let index = 0; index < records.length; index++) {
      const json: unknown = JSON.stringify(records[index]);
      if (typeof json !== 'string') throw new TypeError(`The pending record ${JSON.stringify(records[index].id)} cannot be saved as JSON`);
      chunk += `${index === 0 ? '' : ','}\n${json}`;
      if (chunk.length >= CHUNK_BYTES) {
        await writeAll(handle, chunk);
        chunk = '';
      }
    }
    await writeAll(handle, `${chunk}\n]}\n`);
    await handle.sync();
  } finally {
    await handle.close();
  }
  await fs.rename(temp, file);
  await syncDirectory(path.dirname(file));
}

async function writeAll(handle: fs.FileHandle, text: string): Promise<void> {
  const bytes = Buffer.from(text, 'utf8');
  let offset = 0;
  while (offset < bytes.length) {
    const { bytesWritten } = await handle.write(bytes, offset, bytes.length - offset);
    offset += bytesWritten;
  }
}

/** Makes the rename itself durable (POSIX); Windows cannot open a directory for it and needs no such step. */
async function syncDirectory(directory: string): Promise<void> {
  if (process.platform === 'win32') return;
  let handle: fs.FileHandle | undefined;
  try {
    handle = await fs.open(directory, 'r');
    await handle.sync();
  } catch (err) {
    if (!DIRECTORY_SYNC_UNSUPPORTED.has((err as NodeJS.ErrnoException).code ?? '')) throw err;
  } finally {
    await handle?.close();
  }
}
