import { buildSmsCommandRequest } from '../src/sending';
import type { SmsCommandSettings } from '../src/sending';
import { setUpSendNode } from './lib/send-node';
import type { SendNodeConfig } from './lib/send-node';
import type { Node, NodeAPI } from './lib/red';

export default function register(RED: NodeAPI): void {
  function SupersimSmsCommandNode(this: Node, config: SendNodeConfig & SmsCommandSettings): void {
    RED.nodes.createNode(this, config);
    setUpSendNode(RED, this, config, (msg) => {
      const built = buildSmsCommandRequest(config, msg);
      if (built.api === 'supersim') return { kind: 'sms', request: built.params, sim: built.params.sim };
      return { kind: 'wireless', request: built.params, sim: built.params.sim, deliveryReceipt: built.params.deliveryReceiptRequested };
    });
  }

  RED.nodes.registerType('supersim-sms-command', SupersimSmsCommandNode);
}
