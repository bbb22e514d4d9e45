import { webSocketClass } from '../support/node-red-process';
import type { NodeRedInstance } from '../support/node-red-process';

export interface CommsListener {
  /** Every event received on the subscribed topics, as the editor gets it (raw JSON text). */
  readonly events: string[];
  close(): void;
}

/** Listens to Node-RED's comms socket as the editor does: what the debug sidebar and node status show. */
export function listenToComms(instance: Pick<NodeRedInstance, 'adminUrl' | 'token'>, topics: string[]): Promise<CommsListener> {
  const WebSocket = webSocketClass();
  const url = new URL('comms', instance.adminUrl);
  url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
  const socket = new WebSocket(url.toString());
  const events: string[] = [];
  return new Promise((resolve, reject) => {
    const subscribe = (): void => {
      for (const topic of topics) socket.send(JSON.stringify({ subscribe: topic }));
      resolve({ events, close: () => socket.close() });
    };
    socket.on('open', () => {
      if (instance.token) socket.send(JSON.stringify({ auth: instance.token }));
      else subscribe();
    });
    socket.on('message', (data: unknown) => {
      const text = String(data);
      if (text.includes('"auth":"ok"')) return subscribe();
      events.push(text);
    });
    socket.on('error', reject);
  });
}

/** The forms a secret can take on its way out: as typed, URL- and form-encoded, inside a Basic header. */
export function secretForms(secret: string): string[] {
  return [...new Set([secret, encodeURIComponent(secret), new URLSearchParams({ s: secret }).toString().slice(2)])];
}

/** The secrets found in `text`, by the form that was found (empty when none). */
export function leaksIn(text: string, secrets: string[]): string[] {
  return secrets.filter((secret) => text.includes(secret));
}
