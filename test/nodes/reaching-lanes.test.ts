/** The per-SIM lanes that keep a lookup after a restart from taking a command another message is creating. */
import assert from 'node:assert/strict';
import { SimLanes, laneOf } from '../../src/reaching/sim-lanes';

function gate(): { promise: Promise<void>; open(): void } {
  let open = (): void => undefined;
  const promise = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { promise, open };
}

const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('SimLanes', function () {
  it('runs shared work together, exclusive work alone, in the order it came', async function () {
    const lanes = new SimLanes();
    const log: string[] = [];
    const first = gate();
    const second = gate();
    const lookup = gate();
    const a = lanes.shared('sim', async () => {
      log.push('create 1 starts');
      await first.promise;
      log.push('create 1 ends');
    });
    const b = lanes.shared('sim', async () => {
      log.push('create 2 starts');
      await second.promise;
      log.push('create 2 ends');
    });
    const c = lanes.exclusive('sim', async () => {
      log.push('lookup starts');
      await lookup.promise;
      log.push('lookup ends');
    });
    const d = lanes.shared('sim', async () => {
      log.push('create 3 runs');
    });
    await tick();
    assert.deepEqual(log, ['create 1 starts', 'create 2 starts'], 'creates run together; the lookup waits for both');
    first.open();
    await tick();
    assert.deepEqual(log.slice(2), ['create 1 ends'], 'still one create on the wire: the lookup waits');
    second.open();
    await tick();
    assert.deepEqual(log.slice(3), ['create 2 ends', 'lookup starts'], 'the lookup runs alone; the create after it waits');
    lookup.open();
    await Promise.all([a, b, c, d]);
    assert.deepEqual(log.slice(5), ['lookup ends', 'create 3 runs']);
  });

  it('keeps SIMs apart, and a failure frees the lane', async function () {
    const lanes = new SimLanes();
    const held = gate();
    const log: string[] = [];
    const lookup = lanes.exclusive('one', async () => {
      await held.promise;
      throw new Error('the list failed');
    });
    await lanes.shared('two', async () => {
      log.push('other SIM created');
    });
    assert.deepEqual(log, ['other SIM created'], 'a lookup of one SIM does not hold up another');
    const after = lanes.shared('one', async () => {
      log.push('same SIM created');
      return 42;
    });
    held.open();
    await assert.rejects(lookup, /the list failed/);
    assert.equal(await after, 42);
    assert.deepEqual(log, ['other SIM created', 'same SIM created']);
  });

  it('puts in one lane only requests a lookup could mistake for each other', function () {
    const ip = (payload: string, extra: Record<string, unknown> = {}) => laneOf({ kind: 'ip', sim: 'thermostat', request: { payload, devicePort: 6655, ...extra } });
    assert.equal(ip('on'), ip('on', { callbackUrl: 'https://example.com/x' }), 'a lookup matches payload and port, not the callback');
    assert.notEqual(ip('on'), ip('off'));
    assert.notEqual(ip('on'), laneOf({ kind: 'ip', sim: 'tracker', request: { payload: 'on', devicePort: 6655 } }));
    assert.equal(ip('AAE=', { payloadType: 'binary' }), ip('AAE', { payloadType: 'binary' }), 'the same bytes in another Base64 spelling');
    assert.notEqual(laneOf({ kind: 'sms', sim: 's', request: { payload: 'x' } }), laneOf({ kind: 'wireless', sim: 's', request: { command: 'x' } }));
  });
});
