import { buildIpCommandRequest } from '../src/sending';
import type { IpCommandSettings } from '../src/sending';
import { setUpSendNode } from './lib/send-node';
import type { SendNodeConfig } from './lib/send-node';
import type { Node, NodeAPI } from './lib/red';

export default function register(RED: NodeAPI): void {
  function SupersimIpCommandNode(this: Node, config: SendNodeConfig & IpCommandSettings): void {
    RED.nodes.createNode(this, config);
    setUpSendNode(RED, this, config, (msg) => {
      const request = buildIpCommandRequest(config, msg);
      return { kind: 'ip', request, sim: request.sim };
    });
  }

  RED.nodes.registerType('supersim-ip-command', SupersimIpCommandNode);
}
