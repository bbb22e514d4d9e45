import type { SimulatedDevice } from './device';
import { DURATION_FORMS, parseDuration } from './duration';
import { jsonReply } from './reply';
import type { Reply } from './reply';
import type { ApiRequest } from './server';

/**
 * The simulator's own routes, for the CLI's users and for processes that do not hold the Simulator
 * object. They are not part of either API: no credentials, no faults, not counted in stats, and
 * reachable only on 127.0.0.1 like everything else.
 */
export const CONTROL_PREFIX = '/simulator/';
const SIMS_PREFIX = `${CONTROL_PREFIX}sims/`;
const HOW = 'use POST /simulator/sims/{unique name or SID}/detach (optionally ?for=30s) or /attach';

export function isControlPath(path: string): boolean {
  return path.startsWith(CONTROL_PREFIX) || path === '/simulator';
}

function problem(status: number, message: string, headers?: Record<string, string>): Reply {
  return { ...jsonReply(status, { status, message }), headers };
}

function state(device: SimulatedDevice): Reply {
  return jsonReply(200, { sim: device.uniqueName, sid: device.sid, attached: device.attached });
}

export function createControl(findSim: (ref: string) => SimulatedDevice | undefined): (request: ApiRequest) => Reply {
  return (request) => {
    const rest = request.path.startsWith(SIMS_PREFIX) ? request.path.slice(SIMS_PREFIX.length) : '';
    const slash = rest.indexOf('/');
    const action = slash === -1 ? '' : rest.slice(slash + 1);
    if (slash <= 0 || (action !== 'detach' && action !== 'attach')) return problem(404, `No simulator control at ${request.path}: ${HOW}`);
    if (request.method !== 'POST') return problem(405, `${request.method} is not allowed on ${request.path}: ${HOW}`, { allow: 'POST' });
    let ref: string;
    try {
      ref = decodeURIComponent(rest.slice(0, slash));
    } catch {
      return problem(404, `No simulated SIM ${rest.slice(0, slash)}`);
    }
    const device = findSim(ref);
    if (device === undefined) return problem(404, `No simulated SIM ${ref}: name one by its unique name or SID`);
    const forText = new URLSearchParams(request.query).get('for');
    if (action === 'attach') {
      if (forText !== null) return problem(400, `"for" goes with detach only: attach lasts until the next detach`);
      device.attach();
      return state(device);
    }
    if (forText === null) {
      device.detach();
      return state(device);
    }
    const ms = parseDuration(forText);
    if (ms === null) return problem(400, `Invalid "for": "${forText}"; use ${DURATION_FORMS}`);
    device.detachFor(ms);
    return state(device);
  };
}
