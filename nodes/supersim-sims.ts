import { setMaxListeners } from 'node:events';
import { ListingInputError, SIMS_PAGE_SIZE, outputOf, readAhead, sendListed, simNameOf, simsFilterOf } from '../src/listing';
import type { Message } from '../src/listing';
import type { Sim } from '../src/api';
import type { AccountNode } from './supersim-account';
import type { Node, NodeAPI, NodeDefinition } from './lib/red';
import { serveListing } from './lib/listing-node';
import { ThrottledStatus } from './lib/status';
import { timeOfDay } from './lib/time-of-day';

export interface SimsConfig extends NodeDefinition {
  account?: string;
  fleet?: string;
  status?: string;
  iccid?: string;
  output?: string;
}

const T = 'supersim-sims';

function setUpSims(RED: NodeAPI, node: Node, config: SimsConfig): void {
  const accountNode = (config.account ? RED.nodes.getNode(config.account) : null) as AccountNode | null;
  const output = outputOf(config.output);
  const stopping = new AbortController();
  // One listener per listing in progress: many at once are expected.
  setMaxListeners(0, stopping.signal);
  const status = new ThrottledStatus(node);

  if (!accountNode) status.showNow({ fill: 'red', shape: 'ring', text: RED._(`${T}.status.no-account`) });
  else if (accountNode.account.configError) status.showNow({ fill: 'red', shape: 'ring', text: RED._(`${T}.status.account-error`) });

  async function list(msg: Message, send: (msg: Message) => void): Promise<number> {
    if (!accountNode) throw new ListingInputError('Account', RED._(`${T}.errors.no-account`));
    const filter = simsFilterOf(config, msg);
    const client = accountNode.account.client;
    status.show({ fill: 'blue', shape: 'dot', text: RED._(`${T}.status.listing`, { count: 0 }) });
    return sendListed<Sim>({
      // Two pages ahead at most: memory stays at a few pages however large the Fleet.
      batches: readAhead(client.listSims(filter, { signal: stopping.signal }), 2 * SIMS_PAGE_SIZE),
      output,
      msg,
      clone: (m) => RED.util.cloneMessage(m),
      send,
      decorate: (sim, out) => {
        const name = simNameOf(sim);
        out.sim = name;
        out.topic = name;
      },
      signal: stopping.signal,
      progress: (count) => status.show(() => ({ fill: 'blue', shape: 'dot', text: RED._(`${T}.status.listing`, { count }) })),
    });
  }

  serveListing(RED, node, T, status, stopping, async (msg, send) => {
    const count = await list(msg, send);
    return { fill: 'green', shape: 'dot', text: RED._(`${T}.status.listed`, { count, time: timeOfDay(new Date()) }) };
  });
}

export default function register(RED: NodeAPI): void {
  function SupersimSimsNode(this: Node, config: SimsConfig): void {
    RED.nodes.createNode(this, config);
    setUpSims(RED, this, config);
  }

  RED.nodes.registerType('supersim-sims', SupersimSimsNode);
}
