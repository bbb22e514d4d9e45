import { createServer, request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface RecordingProxy {
  /** http://127.0.0.1:<port>: use it in place of the target's base URL. */
  url: string;
  /** Every request's method and path with its query, in order. */
  readonly requests: { method: string; url: string }[];
  close(): Promise<void>;
}

/**
 * Forwards to `target` and records what was asked, query strings included, which the simulator's own
 * counts leave out. Answers are rewritten so that their links (next_page_url) point back here, as
 * a client only follows next pages on the API it was configured with.
 */
export async function startRecordingProxy(target: string): Promise<RecordingProxy> {
  const requests: { method: string; url: string }[] = [];
  const targetUrl = new URL(target);
  let self = '';
  const server = createServer((req, res) => {
    requests.push({ method: req.method ?? 'GET', url: req.url ?? '' });
    const forwarded = httpRequest(
      { host: targetUrl.hostname, port: targetUrl.port, method: req.method, path: req.url, headers: { ...req.headers, host: targetUrl.host } },
      (answer) => {
        const chunks: Buffer[] = [];
        answer.on('data', (chunk: Buffer) => chunks.push(chunk));
        answer.on('end', () => {
          const body = Buffer.from(Buffer.concat(chunks).toString('utf8').split(targetUrl.origin).join(self));
          const headers = { ...answer.headers, 'content-length': String(body.length) };
          delete headers['transfer-encoding'];
          res.writeHead(answer.statusCode ?? 502, headers);
          res.end(body);
        });
      },
    );
    forwarded.on('error', () => res.destroy());
    req.pipe(forwarded);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  self = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url: self,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
