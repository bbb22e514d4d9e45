import type { HttpMethod } from '../api';
import { isValidBase64 } from '../commands';
import { badRequest } from './reply';
import type { CallbackTarget } from './callbacks';

/** Parameters as the vendors read them, with their wording for what is wrong. */
export type Params = URLSearchParams;

const DIGITS = /^[0-9]+$/;
const METHODS: readonly HttpMethod[] = ['GET', 'POST'];

export function required(params: Params, name: string): string {
  const value = params.get(name);
  if (value === null || value === '') throw badRequest(`Missing required parameter ${name} in the post body`);
  return value;
}

export function oneOf<T extends string>(params: Params, name: string, allowed: readonly T[], fallback: T): T {
  const value = params.get(name);
  if (value === null || value === '') return fallback;
  if (!(allowed as readonly string[]).includes(value)) throw badRequest(`Invalid ${name}: ${value}; expected one of ${allowed.join(', ')}`);
  return value as T;
}

/** An optional enum filter of a list request. */
export function filterOf<T extends string>(params: Params, name: string, allowed: readonly T[]): T | null {
  const value = params.get(name);
  return value === null || value === '' ? null : oneOf(params, name, allowed, allowed[0]);
}

export function integer(params: Params, name: string, min: number, max: number): number | null {
  const value = params.get(name);
  if (value === null || value === '') return null;
  const n = DIGITS.test(value) ? Number(value) : NaN;
  if (!(n >= min && n <= max)) throw badRequest(`Invalid ${name}: ${value}; expected an integer from ${min} to ${max}`);
  return n;
}

export function boolean(params: Params, name: string, fallback: boolean): boolean {
  const value = params.get(name);
  if (value === null || value === '') return fallback;
  const lower = value.toLowerCase();
  if (lower === 'true') return true;
  if (lower === 'false') return false;
  throw badRequest(`Invalid ${name}: ${value}; expected true or false`);
}

export function httpMethod(params: Params, name: string): HttpMethod {
  const value = params.get(name);
  if (value === null || value === '') return 'POST';
  const upper = value.toUpperCase() as HttpMethod;
  if (!METHODS.includes(upper)) throw badRequest(`Invalid ${name}: ${value}; expected GET or POST`);
  return upper;
}

/** An absolute http(s) URL, or throws a 400 naming the parameter. */
export function absoluteUrl(name: string, value: string): string {
  let url: URL | null = null;
  try {
    url = new URL(value);
  } catch {
    // reported below
  }
  if (url === null || (url.protocol !== 'http:' && url.protocol !== 'https:')) throw badRequest(`Invalid ${name}: ${value}; expected an absolute http or https URL`);
  return value;
}

export function callbackTarget(params: Params): CallbackTarget | null {
  const method = httpMethod(params, 'CallbackMethod');
  const url = params.get('CallbackUrl');
  return url === null || url === '' ? null : { url: absoluteUrl('CallbackUrl', url), method };
}

/** Strict Base64, by the same rule the nodes check before sending. Null if invalid. */
export function decodeBase64(value: string): Buffer | null {
  return isValidBase64(value) ? Buffer.from(value, 'base64') : null;
}


/** Truncates to `max` code points without splitting a surrogate pair. */
export function truncateCodePoints(text: string, max: number): string {
  if (text.length <= max) return text;
  let out = '';
  let count = 0;
  for (const ch of text) {
    if (count++ === max) break;
    out += ch;
  }
  return out;
}
