import assert from 'node:assert/strict';
import { readSecretRequest } from '../../src/account';
import { ApiError } from '../../src/api';
import type { UpdateWirelessSimParams, WirelessSim } from '../../src/api';
import { FleetSetupError, pointWirelessSims, readWirelessSimsUpdate } from '../../src/receiving';
import type { WirelessSetupAccount } from '../../src/receiving';

function wirelessSim(uniqueName: string, url: string | null = null): WirelessSim {
  return { sid: `DE${uniqueName.padStart(32, '0')}`, unique_name: uniqueName, commands_callback_url: url, commands_callback_method: url ? 'POST' : null } as WirelessSim;
}

/** An account whose Wireless SIMs live in memory; `refuse` names SIMs the API will not update. */
function fakeAccount(sims: WirelessSim[], refuse: string[] = []): WirelessSetupAccount & { updates: string[] } {
  const updates: string[] = [];
  return {
    provider: 'kore',
    configError: undefined,
    callbackBaseUrl: 'https://nodered.example.com',
    updates,
    client: {
      async updateWirelessSim(ref: string, params: UpdateWirelessSimParams): Promise<WirelessSim> {
        const sim = sims.find((s) => s.sid === ref || s.unique_name === ref);
        if (!sim || refuse.includes(sim.unique_name ?? '')) throw new ApiError(`Wireless SIM ${ref} was not found (HTTP 404)`, { kind: 'api', status: 404, code: 20404 } as never);
        updates.push(ref);
        sim.commands_callback_url = params.commandsCallbackUrl ?? null;
        sim.commands_callback_method = params.commandsCallbackMethod ?? null;
        return { ...sim };
      },
      async *listWirelessSims(): AsyncIterable<WirelessSim> {
        for (const sim of sims) yield { ...sim };
      },
    },
  };
}

describe('set-up requests from the editor', function () {
  it('Create webhook secret takes JSON only, and an optional name of at most 64 characters', function () {
    assert.deepEqual(readSecretRequest({ isJson: false, body: { name: 'x' } }), {
      ok: false,
      status: 415,
      message: 'Creating a webhook secret takes a JSON body (Content-Type: application/json); nothing was created.',
    });
    assert.deepEqual(readSecretRequest({ isJson: true, body: {} }), { ok: true, name: undefined });
    assert.deepEqual(readSecretRequest({ isJson: true, body: { name: '  node-red  ' } }), { ok: true, name: 'node-red' });
    for (const body of [[], 'text', { name: 7 }, { name: 'x'.repeat(65) }, { name: 'a\nb' }]) {
      const read = readSecretRequest({ isJson: true, body });
      assert.equal(read.ok, false, JSON.stringify(body));
    }
  });

  it('the Wireless SIM set-up takes one SIM or all, and says what is missing', function () {
    assert.deepEqual(readWirelessSimsUpdate({ account: 'a', url: '/in', sim: ' wl-1 ' }), { account: 'a', url: '/in', all: false, sim: 'wl-1' });
    assert.deepEqual(readWirelessSimsUpdate({ account: 'a', url: '/in', all: true }), { account: 'a', url: '/in', all: true });
    assert.throws(() => readWirelessSimsUpdate({ account: 'a', url: '/in' }), /Wireless SIM's SID or unique name/);
    assert.throws(() => readWirelessSimsUpdate({ account: 'a', url: '/in', all: true, sim: 'wl-1' }), /either one SIM or all/);
    assert.throws(() => readWirelessSimsUpdate({ account: 'a', url: 'no slash', all: true }), FleetSetupError);
    assert.throws(() => readWirelessSimsUpdate({ url: '/in', all: true }), /account is missing/);
    assert.throws(() => readWirelessSimsUpdate({ account: 'a', url: '/in', all: 'yes' }), /all must be true or false/);
    assert.throws(() => readWirelessSimsUpdate({ account: 'a', url: '/in', sim: 'a/b' }), FleetSetupError);
  });

  it('all: updates each SIM not pointed here yet, counts the ones the API refuses, and goes on', async function () {
    const target = 'https://nodered.example.com/in';
    const account = fakeAccount([wirelessSim('wl-1'), wirelessSim('wl-2', target), wirelessSim('wl-3'), wirelessSim('wl-4', 'https://old.example.com')], ['wl-3']);
    const answer = await pointWirelessSims(account, '/', { account: 'a', url: '/in', all: true });
    assert.equal(answer.target, target);
    assert.equal(answer.updated, 3);
    assert.equal(answer.failures, 1);
    assert.equal(answer.failed[0].sim, 'wl-3');
    assert.match(answer.failed[0].message, /not found/);
    assert.equal(account.updates.length, 2, 'wl-2 already reported here: not updated again');
    assert.deepEqual(answer.sims.map((s) => [s.unique_name, s.commands_callback_url, s.commands_callback_method]), [
      ['wl-1', target, 'POST'],
      ['wl-2', target, 'POST'],
      ['wl-4', target, 'POST'],
    ]);
  });

  it('one SIM: the API’s refusal is the set-up’s, with its status; no Public URL or no deployed account, in words', async function () {
    const account = fakeAccount([wirelessSim('wl-1')]);
    const refused = await pointWirelessSims(account, '/', { account: 'a', url: '/in', all: false, sim: 'nope' }).catch((err: unknown) => err);
    assert.ok(refused instanceof FleetSetupError);
    assert.equal(refused.apiStatus, 404);
    await assert.rejects(pointWirelessSims({ ...account, callbackBaseUrl: undefined }, '/', { account: 'a', url: '/in', all: true }), /no Public URL/);
    await assert.rejects(pointWirelessSims(undefined, '/', { account: 'a', url: '/in', all: true }), /not deployed yet/);
    assert.deepEqual(account.updates, []);
  });
});
