/**
 * What the status filter's memory does however many commands pass: distinct commands, each
 * queued → sent → delivered, through one StatusFilterState, with the heap measured after a full GC.
 * Past maxCommands the heap should stay flat, since every new command evicts an old one.
 *
 *   npx tsx --expose-gc bench/filter-memory.ts [--commands 1000000] [--max 100000] [--json]
 */
import { StatusFilterState } from '../src/filter';

export interface MemoryPoint {
  commands: number;
  heapUsedBytes: number;
}

export interface FilterMemoryResult {
  commands: number;
  maxCommands: number;
  points: MemoryPoint[];
  /** state.size at the end: maxCommands once more commands than that went through. */
  size: number;
  heapAtCapBytes: number;
  heapAtEndBytes: number;
  /** Heap at the end minus heap at the cap: what the state grew after it stopped remembering more. */
  growthPastCapBytes: number;
  growthPastCapRatio: number;
  /** Heap the remembered commands take, per command, measured at the cap. */
  bytesPerCommand: number;
  /** Decisions (three per command) per second, GC pauses excluded. */
  decisionsPerSecond: number;
}

const LIFECYCLE = ['queued', 'sent', 'delivered'] as const;

function collectGarbage(): void {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc === undefined) throw new Error('run with --expose-gc (npx tsx --expose-gc bench/filter-memory.ts)');
  // A second pass frees what the first one's finalisation released.
  gc();
  gc();
}

function heapUsed(): number {
  collectGarbage();
  return process.memoryUsage().heapUsed;
}

/**
 * A SID as the filter gets it from a parsed callback or resource: a flat string. Built by
 * concatenation it would be a rope, which holds more memory than the string a real flow sees.
 */
function sidOf(i: number): string {
  return Buffer.from(`HC${i.toString(16).padStart(32, '0')}`, 'latin1').toString('latin1');
}

export function measureFilterMemory(options: { commands: number; maxCommands: number }): FilterMemoryResult {
  const { commands, maxCommands } = options;
  const checkpoints = [...new Set([0, maxCommands, 2 * maxCommands, Math.floor(commands / 2), commands])]
    .filter((n) => n <= commands)
    .sort((a, b) => a - b);
  const state = new StatusFilterState({ maxCommands });
  const points: MemoryPoint[] = [];
  let done = 0;
  let busyNs = 0n;
  for (const checkpoint of checkpoints) {
    const started = process.hrtime.bigint();
    for (; done < checkpoint; done++) {
      const sid = sidOf(done);
      for (const status of LIFECYCLE) {
        if (state.decide(sid, status) !== 'pass') throw new Error(`${sid} ${status} did not pass`);
      }
    }
    busyNs += process.hrtime.bigint() - started;
    points.push({ commands: checkpoint, heapUsedBytes: heapUsed() });
  }
  const at = (n: number): number => points.find((point) => point.commands === n)?.heapUsedBytes ?? Number.NaN;
  const heapAtStart = at(0);
  const heapAtCapBytes = at(Math.min(maxCommands, commands));
  const heapAtEndBytes = at(commands);
  return {
    commands,
    maxCommands,
    points,
    size: state.size,
    heapAtCapBytes,
    heapAtEndBytes,
    growthPastCapBytes: heapAtEndBytes - heapAtCapBytes,
    growthPastCapRatio: (heapAtEndBytes - heapAtCapBytes) / heapAtCapBytes,
    bytesPerCommand: (heapAtCapBytes - heapAtStart) / Math.min(maxCommands, commands),
    decisionsPerSecond: (3 * commands) / (Number(busyNs) / 1e9),
  };
}

function argument(name: string, fallback: number): number {
  const index = process.argv.indexOf(`--${name}`);
  if (index === -1) return fallback;
  const value = Number(process.argv[index + 1]);
  if (!Number.isSafeInteger(value) || value < 1) throw new RangeError(`--${name} must be a positive integer`);
  return value;
}

const MB = 1024 * 1024;

function main(): void {
  const result = measureFilterMemory({ commands: argument('commands', 1_000_000), maxCommands: argument('max', 100_000) });
  if (process.argv.includes('--json')) {
    process.stdout.write(`${JSON.stringify(result)}\n`);
    return;
  }
  console.log(`StatusFilterState, maxCommands ${result.maxCommands}, ${result.commands} distinct commands (queued → sent → delivered)`);
  for (const point of result.points) console.log(`  ${String(point.commands).padStart(9)} commands: heap used ${(point.heapUsedBytes / MB).toFixed(1)} MB`);
  console.log(`  size at the end: ${result.size}`);
  console.log(`  per remembered command: ${result.bytesPerCommand.toFixed(0)} bytes`);
  console.log(`  growth past the cap: ${(result.growthPastCapBytes / MB).toFixed(2)} MB (${(result.growthPastCapRatio * 100).toFixed(1)} % of the heap at the cap)`);
  console.log(`  ${Math.round(result.decisionsPerSecond).toLocaleString('en')} decisions/s`);
}

if (require.main === module) main();
