/**
 * The real-Node-RED helper the editor and end-to-end tests stand on (no browser needed): it loads
 * this package, deploys with credentials, notices flows that cannot start, and cleans up.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { deployFlows, startNodeRed } from '../support/node-red-process';
import type { NodeRedInstance } from '../support/node-red-process';

describe('a real Node-RED for tests (startNodeRed, deployFlows)', function () {
  this.timeout(60_000);
  let nodeRed: NodeRedInstance | undefined;

  afterEach(async () => {
    await nodeRed?.stop();
    nodeRed = undefined;
  });

  it('loads this package, deploys flows with credentials and removes its userDir on stop', async () => {
    nodeRed = await startNodeRed({ settings: { httpNodeRoot: '/api' } });
    assert.match(nodeRed.adminUrl, /^http:\/\/127\.0\.0\.1:\d+\/$/);
    assert.equal(nodeRed.nodeUrl, `${nodeRed.url}/api/`);

    const sets = (await (await fetch(new URL('nodes', nodeRed.adminUrl), { headers: { accept: 'application/json' } })).json()) as { id: string; types: string[] }[];
    const types = sets.filter((set) => set.id.startsWith('node-red-contrib-supersim/')).flatMap((set) => set.types);
    for (const type of ['supersim-account', 'supersim-ip-command', 'supersim-sms-command']) assert.ok(types.includes(type), `${type} is not loaded: ${types.join(', ')}`);

    const rev = await deployFlows(
      nodeRed,
      [
        { id: 'tab1', type: 'tab', label: 'test' },
        { id: 'acc1', type: 'supersim-account', name: '', provider: 'twilio', supersimUrl: '', wirelessUrl: '', tokenUrl: '', callbackBaseUrl: '' },
      ],
      { acc1: { accountSid: 'AC0123456789abcdef0123456789abcdef', authToken: 'secret-token' } },
    );
    assert.match(rev, /^[0-9a-f]+$/);
    const credentials = (await (await fetch(new URL('credentials/supersim-account/acc1', nodeRed.adminUrl))).json()) as Record<string, unknown>;
    assert.equal(credentials.accountSid, 'AC0123456789abcdef0123456789abcdef');
    assert.equal(credentials.has_authToken, true);
    assert.equal(credentials.authToken, undefined, 'a password credential never goes back to the editor');

    const { userDir } = nodeRed;
    await nodeRed.stop();
    nodeRed = undefined;
    assert.equal(existsSync(userDir), false);
  });

  it('rejects a deploy whose flows cannot start, naming the missing type', async () => {
    nodeRed = await startNodeRed();
    await assert.rejects(
      deployFlows(nodeRed, [
        { id: 'tab1', type: 'tab', label: 'test' },
        { id: 'n1', type: 'no-such-node-type', z: 'tab1', wires: [] },
      ]),
      /missing-types.*no-such-node-type/,
    );
  });
});
