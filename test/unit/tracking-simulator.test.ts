import assert from 'node:assert/strict';
import { SuperSimClient } from '../../src/api/index.js';
import { Simulator } from '../../src/simulator/index.js';
import type { CommandStatus } from '../../src/api/types.js';
import { CallbackHub, DeliveryTracker, clientFetcher } from '../../src/tracking/index.js';
import type { StatusUpdate, TrackedKind, TrackedResource, TrackingEnd, TrackOptions } from '../../src/tracking/index.js';
import { startTestServer } from '../support/net.js';
import type { TestServer } from '../support/net.js';

interface Outcome {
  updates: StatusUpdate[];
  end: TrackingEnd;
  error?: Error;
}

describe('tracking: the simulator over loopback', function () {
  this.timeout(15_000);
  let sim: Simulator;
  let client: SuperSimClient;
  let tracker: DeliveryTracker;
  let fetches = 0;
  let hub: CallbackHub;
  let receiver: TestServer;

  before(async function () {
    sim = await Simulator.start({
      sims: [{ uniqueName: 'attached' }, { uniqueName: 'detached', attached: false }],
      timing: { ipSentMs: 150 },
    });
    const { clientId, clientSecret } = sim.credentials;
    client = new SuperSimClient({ provider: 'kore', clientId, clientSecret, supersimUrl: sim.supersimUrl, wirelessUrl: sim.wirelessUrl, tokenUrl: sim.tokenUrl });
    const fetch = clientFetcher(client);
    hub = new CallbackHub();
    // A stand-in for the account's callback route: form fields to the hub's event.
    receiver = await startTestServer((_req, res, body) => {
      const fields = new URLSearchParams(body);
      const code = fields.get('ErrorCode');
      hub.deliver({
        sid: fields.get('CommandSid') ?? '',
        status: fields.get('Status') as CommandStatus,
        errorCode: code ? Number(code) : null,
        errorMessage: fields.get('ErrorMessage') || null,
      });
      res.writeHead(204).end();
    });
    tracker = new DeliveryTracker({
      hub,
      fetch: (kind: TrackedKind, sid: string): Promise<TrackedResource> => {
        fetches++;
        return fetch(kind, sid);
      },
      poll: { initialMs: 20, factor: 2, maxMs: 80 },
    });
  });

  after(async function () {
    tracker?.close();
    await receiver?.close();
    await client?.destroy();
    await sim?.close();
  });

  function trackUntilEnd(resource: TrackedResource, options: Partial<TrackOptions> = {}): Promise<Outcome> {
    return new Promise((resolve) => {
      const updates: StatusUpdate[] = [];
      const started = tracker.track({
        kind: 'ip',
        resource,
        mode: 'poll',
        timeoutMs: 5_000,
        ...options,
        onUpdate: (update) => updates.push(update),
        onEnd: (end, error) => resolve({ updates, end, error }),
      });
      assert.equal(started, true);
    });
  }

  it('follows an IP Command to an attached SIM to sent', async function () {
    fetches = 0;
    const created = await client.createIpCommand({ sim: 'attached', payload: 'ping', devicePort: 6655 });
    assert.equal(created.status, 'queued');
    const outcome = await trackUntilEnd(created);
    assert.equal(outcome.end, 'final', outcome.error?.message);
    assert.deepEqual(
      outcome.updates.map((u) => [u.status, u.final, u.source]),
      [['sent', true, 'poll']],
    );
    const { resource } = outcome.updates[0];
    assert.equal(resource.sid, created.sid);
    assert.equal(resource.status, 'sent');
    assert.equal(typeof resource.device_ip, 'string', 'the fetched resource, filled in once sent');
    assert.ok(fetches >= 2, `polled while still queued (${fetches} fetches)`);
    assert.equal(tracker.size, 0);
  });

  it('follows an IP Command to a detached SIM to failed, with its error', async function () {
    const created = await client.createIpCommand({ sim: 'detached', payload: 'ping', devicePort: 6655 });
    const outcome = await trackUntilEnd(created);
    assert.equal(outcome.end, 'final', outcome.error?.message);
    assert.deepEqual(
      outcome.updates.map((u) => [u.status, u.final]),
      [['failed', true]],
    );
    const { resource } = outcome.updates[0];
    assert.equal(resource.sid, created.sid);
    assert.equal(typeof resource.error_code, 'number');
    assert.equal(typeof resource.error_message, 'string');
    assert.equal(tracker.size, 0);
  });

  it('follows an SMS Command by its status callbacks: sent, then delivered', async function () {
    fetches = 0;
    const created = await client.createSmsCommand({ sim: 'attached', payload: 'ping', callbackUrl: `${receiver.url}/status`, callbackMethod: 'POST' });
    const outcome = await trackUntilEnd(created, { kind: 'sms', mode: 'callback' });
    assert.equal(outcome.end, 'final', outcome.error?.message);
    assert.deepEqual(
      outcome.updates.map((u) => [u.status, u.final, u.source]),
      [
        ['sent', false, 'callback'],
        ['delivered', true, 'callback'],
      ],
    );
    assert.equal(outcome.updates[1].resource.sid, created.sid);
    assert.equal(fetches, 0);
    assert.equal(hub.subscribers, 0);
  });
});
