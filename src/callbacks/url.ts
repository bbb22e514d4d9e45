import { MAX_URL_CHARS, trimTrailing } from '../shared';
import { CallbackParseError } from './params';
import { headerOf } from './request';
import type { CallbackRequest } from './request';

export interface PublicUrlOptions {
  /** The account's callbackBaseUrl, e.g. 'https://nodered.example.com' or with a path prefix. */
  publicBaseUrl?: string;
  /**
   * Without publicBaseUrl, whether X-Forwarded-Proto / X-Forwarded-Host say what the sender used.
   * Default: only for a request that came through a trusted proxy (`viaTrustedProxy`).
   */
  trustForwardedHeaders?: boolean;
}

/**
 * A host as RFC 3986 spells one in a Host header: a name or IPv4 address, or an IPv6 literal in
 * brackets, then an optional port. Written so that no input makes it backtrack.
 */
const HOST = /^(?:[A-Za-z0-9\-._~]{1,253}|\[[0-9A-Fa-f:.]{2,45}\])(?::[0-9]{1,5})?$/;

/** The first hop of a forwarded header: a chain of proxies lists the client-facing one first. */
function forwarded(request: CallbackRequest, name: string): string | undefined {
  const value = headerOf(request.headers, name)?.split(',')[0].trim();
  return value === '' ? undefined : value;
}

/**
 * The URL the sender called, which is what it signed: behind a reverse proxy or a tunnel it is not
 * what the local server saw. Throws CallbackParseError (400) when the request cannot say.
 */
export function publicUrlOf(request: CallbackRequest, options: PublicUrlOptions): string {
  const pathEnd = request.url.indexOf('?');
  const pathLength = pathEnd === -1 ? request.url.length : pathEnd;
  if (pathLength > MAX_URL_CHARS) throw new CallbackParseError(400, `the request path is ${pathLength} characters long; at most ${MAX_URL_CHARS} are accepted`);
  if (options.publicBaseUrl !== undefined && options.publicBaseUrl !== '') return trimTrailing(options.publicBaseUrl, '/') + request.url;
  const trust = options.trustForwardedHeaders ?? request.viaTrustedProxy === true;
  const forwardedProto = trust ? forwarded(request, 'x-forwarded-proto')?.toLowerCase() : undefined;
  const protocol = forwardedProto === 'http' || forwardedProto === 'https' ? forwardedProto : (request.protocol ?? 'http');
  const forwardedHost = trust ? forwarded(request, 'x-forwarded-host') : undefined;
  const host = forwardedHost ?? request.host ?? headerOf(request.headers, 'host');
  if (host === undefined || host === '') {
    throw new CallbackParseError(400, 'the request has no Host header, so the URL it was sent to is unknown; set the Public URL of the account');
  }
  if (!HOST.test(host)) {
    const header = forwardedHost === undefined ? 'Host' : 'X-Forwarded-Host';
    throw new CallbackParseError(400, `the ${header} header is not a host name, IP address or [IPv6] address with an optional port`);
  }
  return `${protocol}://${host}${request.url}`;
}

const DEFAULT_PORTS: Readonly<Record<string, string>> = { http: '80', https: '443' };

/**
 * The spellings of one URL a sender may have signed. Twilio's own validator accepts the URL with the
 * scheme's default port added and with an explicit default port removed, because what its senders
 * sign differs from what proxies pass on; a root URL is also tried with and without its '/', since a
 * base URL configured without one still arrives as '/'. Other ports never match: that would be
 * another server.
 */
export function signedUrlVariants(url: string): string[] {
  const schemeEnd = url.indexOf('://');
  const defaultPort = schemeEnd === -1 ? undefined : DEFAULT_PORTS[url.slice(0, schemeEnd).toLowerCase()];
  if (defaultPort === undefined) return [url];
  const authorityStart = schemeEnd + 3;
  let authorityEnd = url.length;
  for (const delimiter of ['/', '?', '#']) {
    const at = url.indexOf(delimiter, authorityStart);
    if (at !== -1 && at < authorityEnd) authorityEnd = at;
  }
  const origin = url.slice(0, authorityEnd);
  const rest = url.slice(authorityEnd);
  const portAt = origin.lastIndexOf(':');
  // The colon of an IPv6 literal ('[::1]') is no port separator.
  const port = portAt > authorityStart && portAt > origin.lastIndexOf(']') ? origin.slice(portAt + 1) : undefined;
  const origins = [origin];
  if (port === undefined) origins.push(`${origin}:${defaultPort}`);
  else if (port === defaultPort) origins.push(origin.slice(0, portAt));
  const rests = [rest];
  if (rest === '' || rest.startsWith('?')) rests.push(`/${rest}`);
  else if (rest === '/' || rest.startsWith('/?')) rests.push(rest.slice(1));
  return origins.flatMap((o) => rests.map((r) => o + r));
}
