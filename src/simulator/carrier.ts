import { createSocket } from 'node:dgram';
import type { SimulatedDevice } from './device';

const LOOPBACK = '127.0.0.1';

interface Source {
  device: SimulatedDevice;
  devicePort: number;
}

/**
 * The mobile network's side of IP Commands: one UDP socket that delivers IP Commands to devices and,
 * standing for 100.64.0.1, takes the datagrams devices send, mapping each source port back to its SIM.
 */
export class Carrier {
  readonly #socket = createSocket('udp4');
  readonly #sources = new Map<number, Source>();
  #port = 0;
  #closed = false;

  constructor(private readonly onDatagram: (device: SimulatedDevice, devicePort: number, bytes: Buffer) => void) {}

  get port(): number {
    return this.#port;
  }

  async start(): Promise<void> {
    const socket = this.#socket;
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(0, LOOPBACK, () => {
        socket.off('error', reject);
        resolve();
      });
    });
    socket.on('error', () => undefined);
    socket.on('message', (bytes, from) => {
      const source = from.address === LOOPBACK ? this.#sources.get(from.port) : undefined;
      if (source !== undefined) this.onDatagram(source.device, source.devicePort, bytes);
    });
    this.#port = socket.address().port;
  }

  register(localPort: number, device: SimulatedDevice, devicePort: number): void {
    this.#sources.set(localPort, { device, devicePort });
  }

  send(bytes: Buffer, localPort: number): void {
    if (this.#closed) return;
    // Like UDP itself: a datagram that cannot be sent is simply lost.
    this.#socket.send(bytes, localPort, LOOPBACK, () => undefined);
  }

  close(): Promise<void> {
    if (this.#closed) return Promise.resolve();
    this.#closed = true;
    this.#sources.clear();
    return new Promise<void>((resolve) => this.#socket.close(() => resolve()));
  }
}
