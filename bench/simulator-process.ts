/**
 * The simulator in a process of its own, so that in the benchmark it does not share an event loop
 * (and so a core) with the clients being measured.
 */
import { Simulator } from '../src/simulator';

async function main(): Promise<void> {
  const sim = await Simulator.start({
    mode: 'kore',
    sims: [{ uniqueName: 'bench-device' }],
    // Bounded store: the benchmark creates tens of thousands of commands.
    maxStoredCommands: 1_000,
  });
  const stop = (): void => {
    void sim.close().then(() => process.exit(0));
  };
  process.on('disconnect', stop);
  process.on('SIGTERM', stop);
  process.send?.({
    supersimUrl: sim.supersimUrl,
    wirelessUrl: sim.wirelessUrl,
    tokenUrl: sim.tokenUrl,
    credentials: sim.credentials,
  });
}

void main();
