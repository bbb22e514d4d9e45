/** One HTTP request as the server received it: plain data, so the rules here never depend on Node-RED or express. */
export interface CallbackRequest {
  /** As received (methods are case-sensitive: `get` is not GET). */
  method: string;
  /**
   * Path and query as the server received them (e.g. '/hooks/in?x=1'), not the public URL. Behind a
   * mounted router this must be the original URL (express `req.originalUrl`), or it would not be what
   * the sender signed.
   */
  url: string;
  /** Lower-case names, as node:http gives them. */
  headers: Record<string, string | string[] | undefined>;
  /** Exactly the bytes received (empty for GET): KORE signs them as they are. */
  rawBody: Buffer;
  /** What the local server saw, used when no public base URL is configured. */
  protocol?: 'http' | 'https';
  host?: string;
  /**
   * Whether the peer is a proxy the server is set to trust (Express's `trust proxy`). Only then do
   * X-Forwarded-Proto and X-Forwarded-Host say what the sender called: anyone else can send them.
   */
  viaTrustedProxy?: boolean;
}

/**
 * A header's value; the first one when it was repeated. Taking one keeps a duplicated signature header
 * from being compared as the joined string, and it must still match on its own.
 */
export function headerOf(headers: CallbackRequest['headers'], name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/** The query of a request target, without '?' and any fragment; '' when there is none. */
export function queryOf(url: string): string {
  const queryAt = url.indexOf('?');
  if (queryAt === -1) return '';
  const hashAt = url.indexOf('#', queryAt);
  return url.slice(queryAt + 1, hashAt === -1 ? undefined : hashAt);
}
