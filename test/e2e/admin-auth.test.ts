import assert from 'node:assert/strict';
import { Simulator } from '../../src/simulator';
import { adminToken, startNodeRed } from '../support/node-red-process';
import type { NodeRedInstance } from '../support/node-red-process';

const PASSWORD = 'supersim-editor-test';
// bcrypt of PASSWORD, as Node-RED's adminAuth expects.
const PASSWORD_HASH = '$2b$08$P6x.eMfvuuLbiOTMPOLHSugXdlvQ4tghE3Y1pJk9xEaHU6FO7OItG';

describe('Test connection in a real Node-RED with adminAuth', function () {
  this.timeout(60_000);
  let sim: Simulator;
  let nodeRed: NodeRedInstance;

  before(async function () {
    sim = await Simulator.start({ mode: 'kore' });
    nodeRed = await startNodeRed({
      settings: {
        adminAuth: {
          type: 'credentials',
          users: [
            { username: 'admin', password: PASSWORD_HASH, permissions: '*' },
            { username: 'viewer', password: PASSWORD_HASH, permissions: 'read' },
          ],
        },
      },
    });
  });

  after(async function () {
    await nodeRed?.stop();
    await sim?.close();
  });

  function post(token?: string): Promise<Response> {
    return fetch(new URL('supersim-account/test', nodeRed.adminUrl), {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
      body: JSON.stringify({
        provider: 'kore',
        supersimUrl: sim.supersimUrl,
        tokenUrl: sim.tokenUrl,
        credentials: { clientId: sim.credentials.clientId, clientSecret: sim.credentials.clientSecret },
      }),
    });
  }

  it('answers 401 without a login, and does not touch the API', async function () {
    const response = await post();
    await response.arrayBuffer();
    assert.equal(response.status, 401);
    assert.equal(sim.stats.tokenRequests, 0);
  });

  it('refuses a user who may only read', async function () {
    const response = await post(await adminToken(nodeRed, 'viewer', PASSWORD, 'read'));
    await response.arrayBuffer();
    assert.equal(response.status, 401);
    assert.equal(sim.stats.tokenRequests, 0);
  });

  it('tests the credentials for an administrator', async function () {
    const response = await post(await adminToken(nodeRed, 'admin', PASSWORD));
    assert.equal(response.status, 200);
    assert.deepEqual(((await response.json()) as { result: string }).result, 'works');
  });
});
