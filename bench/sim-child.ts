/**
 * A simulator in a process of its own that the parent can steer over IPC (faults, token revocation,
 * counts), for the benchmarks and the soak: whatever the simulator costs in CPU and memory stays out of
 * the process being measured. Started by startSimulatorProcess() in ./sim-control.
 */
import { Simulator } from '../src/simulator';
import type { FaultKind, FaultRule, SimulatorOptions } from '../src/simulator';
import type { ChildReady, ControlReply, ControlRequest, SimChildOptions } from './sim-control';

function ruleOf(rule: Omit<FaultRule, 'times'> & { times?: number | 'Infinity' }): FaultRule {
  return { ...rule, times: rule.times === 'Infinity' ? Infinity : rule.times };
}

async function main(): Promise<void> {
  const options = JSON.parse(process.env.SUPERSIM_SIM_CHILD ?? '{}') as SimChildOptions;
  const simulatorOptions: SimulatorOptions = {
    mode: options.mode ?? 'kore',
    port: options.port ?? 0,
    sims: options.sims ?? [{ uniqueName: 'bench-device' }],
    fleets: options.fleets,
    timing: options.timing,
    tokenTtlSeconds: options.tokenTtlSeconds,
    // Bounded: benchmarks and soaks create far more commands than anyone reads back.
    maxStoredCommands: options.maxStoredCommands ?? 1_000,
  };
  if (options.credentials) Object.assign(simulatorOptions, options.credentials);
  const sim = await Simulator.start(simulatorOptions);

  if (options.echoIpPort !== undefined) {
    // Devices answer every IP Command with its own bytes: traffic from devices, for the webhook node.
    for (const device of sim.devices) {
      if (device.api !== 'supersim') continue;
      await device.listen(options.echoIpPort);
      device.on('ip', (bytes, info) => {
        info.reply(bytes).catch(() => undefined);
      });
    }
  }

  const answer = (reply: ControlReply): void => {
    process.send?.(reply);
  };
  process.on('message', (raw) => {
    const request = raw as ControlRequest;
    try {
      switch (request.op) {
        case 'fault':
          sim.faults.add(ruleOf(request.rule), request.fault as FaultKind);
          return answer({ id: request.id, ok: true });
        case 'clear':
          sim.faults.clear();
          return answer({ id: request.id, ok: true });
        case 'revoke':
          sim.revokeTokens();
          return answer({ id: request.id, ok: true });
        case 'reset':
          sim.stats.reset();
          return answer({ id: request.id, ok: true });
        case 'stats':
          return answer({
            id: request.id,
            ok: true,
            stats: {
              requests: sim.stats.requests,
              tokenRequests: sim.stats.tokenRequests,
              created: { ...sim.stats.created },
              callbacks: { ...sim.stats.callbacks },
              pendingFaults: sim.faults.pending,
              memory: process.memoryUsage().rss,
            },
          });
        default:
          return answer({ id: (request as { id: number }).id, ok: false, error: `unknown op ${(request as { op: string }).op}` });
      }
    } catch (err) {
      answer({ id: request.id, ok: false, error: err instanceof Error ? err.message : String(err) });
    }
  });

  const stop = (): void => {
    void sim.close().then(() => process.exit(0));
  };
  process.on('disconnect', stop);
  process.on('SIGTERM', stop);

  const ready: ChildReady = {
    ready: true,
    mode: sim.mode,
    port: sim.port,
    baseUrl: sim.baseUrl,
    supersimUrl: sim.supersimUrl,
    wirelessUrl: sim.wirelessUrl,
    tokenUrl: sim.tokenUrl,
    credentials: { ...sim.credentials },
  };
  process.send?.(ready);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
