import type { GeneratedSimsOptions, SimulatedSimOptions } from './types';

// Device IPs are 100.64.x.y: past about 65 000 SIMs they would run out.
export const MAX_GENERATED_SIMS = 50_000;

/**
 * `count` SIMs named prefix + a zero-padded number from 1 (sim-0001…), for `sims` in the options or
 * addSim(): enough to page through. Statuses are given out in turn, so a filter by status has
 * something to leave out.
 */
export function generateSims(options: GeneratedSimsOptions): SimulatedSimOptions[] {
  const { count } = options;
  if (!Number.isInteger(count) || count < 1 || count > MAX_GENERATED_SIMS) throw new RangeError(`count must be a whole number from 1 to ${MAX_GENERATED_SIMS}, got ${count}`);
  const prefix = options.prefix ?? 'sim-';
  const statuses = options.statuses ?? ['active'];
  if (statuses.length === 0) throw new RangeError('statuses must name at least one status');
  const digits = Math.max(4, String(count).length);
  const sims: SimulatedSimOptions[] = [];
  for (let i = 0; i < count; i++) {
    const sim: SimulatedSimOptions = { uniqueName: `${prefix}${String(i + 1).padStart(digits, '0')}`, status: statuses[i % statuses.length] };
    if (options.api !== undefined) sim.api = options.api;
    if (options.fleet !== undefined) sim.fleet = options.fleet;
    sims.push(sim);
  }
  return sims;
}
