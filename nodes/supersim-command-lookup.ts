import { setMaxListeners } from 'node:events';
import { COMMANDS_READ_AHEAD, ListingInputError, deleteCommand, fetchCommand, listCommands, listPlanOf, operationOf, outputOf, readAhead, sendListed, sidOf } from '../src/listing';
import type { CommandResource, LookupSettings, Message } from '../src/listing';
import type { AccountNode } from './supersim-account';
import type { Node, NodeAPI, NodeDefinition, NodeStatus } from './lib/red';
import { serveListing } from './lib/listing-node';
import { ThrottledStatus } from './lib/status';
import { timeOfDay } from './lib/time-of-day';

export interface CommandLookupConfig extends NodeDefinition, LookupSettings {
  account?: string;
  output?: string;
}

const T = 'supersim-command-lookup';

function setUpLookup(RED: NodeAPI, node: Node, config: CommandLookupConfig): void {
  const accountNode = (config.account ? RED.nodes.getNode(config.account) : null) as AccountNode | null;
  const operation = operationOf(config.operation);
  const output = outputOf(config.output);
  const stopping = new AbortController();
  setMaxListeners(0, stopping.signal);
  const status = new ThrottledStatus(node);

  if (!accountNode) status.showNow({ fill: 'red', shape: 'ring', text: RED._(`${T}.status.no-account`) });
  else if (accountNode.account.configError) status.showNow({ fill: 'red', shape: 'ring', text: RED._(`${T}.status.account-error`) });

  /** Resolves with what the status says once the message is done. */
  async function handle(msg: Message, send: (msg: Message) => void): Promise<NodeStatus> {
    if (!accountNode) throw new ListingInputError('Account', RED._(`${T}.errors.no-account`));
    const time = timeOfDay(new Date());
    if (operation === 'fetch') {
      const { sid, kind } = sidOf(msg);
      const client = accountNode.account.client;
      msg.payload = await fetchCommand(client, sid, kind, stopping.signal);
      send(msg);
      const state = (msg.payload as { status?: unknown }).status;
      return { fill: 'green', shape: 'dot', text: RED._(`${T}.status.fetched`, { sid, status: typeof state === 'string' ? state : '?', time }) };
    }
    if (operation === 'delete') {
      const client = accountNode.account.client;
      const deleted = await deleteCommand(client, msg);
      msg.payload = deleted;
      send(msg);
      return { fill: 'green', shape: 'dot', text: RED._(`${T}.status.deleted`, { sid: deleted.sid, time }) };
    }
    const plan = listPlanOf(config, msg);
    const client = accountNode.account.client;
    status.show({ fill: 'blue', shape: 'dot', text: RED._(`${T}.status.listing`, { count: 0 }) });
    const count = await sendListed<CommandResource>({
      // Never past the limit: listCommands stops there, so reading ahead asks for no page more.
      batches: readAhead(listCommands(client, plan, stopping.signal), COMMANDS_READ_AHEAD),
      output,
      msg,
      clone: (m) => RED.util.cloneMessage(m),
      send,
      decorate: (command, out) => {
        // Whose command it is, as send nodes and command-in set the topic.
        if (typeof command.sim_sid === 'string' && command.sim_sid !== '') out.topic = command.sim_sid;
      },
      signal: stopping.signal,
      progress: (read) => status.show(() => ({ fill: 'blue', shape: 'dot', text: RED._(`${T}.status.listing`, { count: read }) })),
    });
    return { fill: 'green', shape: 'dot', text: RED._(`${T}.status.listed`, { count, time: timeOfDay(new Date()) }) };
  }

  serveListing(RED, node, T, status, stopping, handle);
}

export default function register(RED: NodeAPI): void {
  function SupersimCommandLookupNode(this: Node, config: CommandLookupConfig): void {
    RED.nodes.createNode(this, config);
    setUpLookup(RED, this, config);
  }

  RED.nodes.registerType('supersim-command-lookup', SupersimCommandLookupNode);
}
