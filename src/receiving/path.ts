import { joinPath, trimTrailing } from '../shared';

/** Longer paths are typos or abuse; providers' URL fields are limited too. */
export const MAX_PATH_CHARS = 200;

/**
 * Characters a provider sends unchanged in a request path (RFC 3986 unreserved, sub-delims, ':' and '@').
 * Anything else would arrive %-encoded and no longer match the path as configured, nor the URL the
 * provider signed; '%' itself is left out so that one path has one spelling.
 */
const PATH = /^\/[A-Za-z0-9\-._~!$&'()*+,;=:@/]*$/;

/** Why `path` cannot be a webhook path, or undefined when it can. */
export function webhookPathProblem(path: unknown): string | undefined {
  if (typeof path !== 'string' || path.trim() === '') return 'the URL path is empty; give one such as /supersim/commands';
  if (!path.startsWith('/')) return `the URL path must start with "/", as in /${path}`;
  if (path.length > MAX_PATH_CHARS) return `the URL path is ${path.length} characters long; at most ${MAX_PATH_CHARS} are allowed`;
  if (path.includes('?') || path.includes('#')) return 'the URL path must not contain "?" or "#": the provider adds its own query';
  if (!PATH.test(path)) return 'the URL path may only contain letters, digits, "/" and - . _ ~ ! $ & \' ( ) * + , ; = : @ (no spaces or %)';
  return undefined;
}

/** The path the provider calls, from the root of this Node-RED's HTTP server. */
export function webhookServerPath(httpNodeRoot: string, path: string): string {
  return joinPath(httpNodeRoot, path);
}

/** The URL to give the provider: the public base URL, httpNodeRoot and the node's path. */
export function webhookPublicUrl(callbackBaseUrl: string, httpNodeRoot: string, path: string): string {
  return trimTrailing(callbackBaseUrl, '/') + webhookServerPath(httpNodeRoot, path);
}
