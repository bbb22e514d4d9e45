import { buildSmsCommandRequest, withTrackingCallback } from '../src/sending';
import type { SmsCommandSettings } from '../src/sending';
import { setUpSendNode } from './lib/send-node';
import type { SendNodeConfig } from './lib/send-node';
import type { Node, NodeAPI } from './lib/red';

export default function register(RED: NodeAPI): void {
  function SupersimSmsCommandNode(this: Node, config: SendNodeConfig & SmsCommandSettings): void {
    RED.nodes.createNode(this, config);
    setUpSendNode(RED, this, config, (msg) => {
      const request = buildSmsCommandRequest(config, msg);
      const userCallbackUrl = request.params.callbackUrl;
      if (request.api === 'supersim') {
        return {
          kind: 'sms',
          userCallbackUrl,
          sim: request.params.sim,
          send: (client, trackingCallbackUrl, signal) => client.createSmsCommand(withTrackingCallback(request.params, trackingCallbackUrl), { signal }),
        };
      }
      return {
        kind: 'wireless',
        userCallbackUrl,
        sim: request.params.sim,
        deliveryReceipt: request.params.deliveryReceiptRequested,
        send: (client, trackingCallbackUrl, signal) => client.createWirelessCommand(withTrackingCallback(request.params, trackingCallbackUrl), { signal }),
      };
    });
  }

  RED.nodes.registerType('supersim-sms-command', SupersimSmsCommandNode);
}
