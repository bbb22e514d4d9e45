import { randomBytes } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import type { TokenResponse } from '../api';
import { ApiError, ErrorCode, badRequest, jsonReply } from './reply';
import type { Reply } from './reply';
import type { SimulatorCredentials, SimulatorMode } from './types';

/** Past this many live tokens, expired ones are swept, then the oldest dropped, so token churn stays bounded. */
const MAX_TOKENS = 10_000;

function authError(message: string): ApiError {
  return new ApiError(401, ErrorCode.authentication, message);
}

function decodeBasic(header: string): [string, string] | null {
  if (header.length < 6 || header.slice(0, 6).toLowerCase() !== 'basic ') return null;
  const decoded = Buffer.from(header.slice(6).trim(), 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  return colon === -1 ? null : [decoded.slice(0, colon), decoded.slice(colon + 1)];
}

/** The one place that decides whether a request may use the API, and that issues KORE tokens. */
export class AuthGate {
  /** token -> expiry (ms since epoch, by Date.now() so tests can fake the clock). */
  readonly #tokens = new Map<string, number>();
  /** The exact header a Twilio client sends, so the hot path is one string comparison. */
  readonly #twilioBasic: string;

  constructor(
    private readonly mode: SimulatorMode,
    private readonly credentials: SimulatorCredentials,
    private readonly ttlSeconds: number,
  ) {
    this.#twilioBasic = 'Basic ' + Buffer.from(`${credentials.accountSid}:${credentials.authToken}`).toString('base64');
  }

  /** Throws a 401 ApiError unless the request carries valid credentials for the mode. */
  check(headers: IncomingHttpHeaders): void {
    const header = headers.authorization;
    if (header === undefined || header === '') throw authError('Authentication Error - No credentials provided');
    if (this.mode === 'twilio') {
      if (header === this.#twilioBasic) return;
      const pair = decodeBasic(header);
      if (pair !== null && pair[0] === this.credentials.accountSid && pair[1] === this.credentials.authToken) return;
      throw authError('Authentication Error - invalid username or password');
    }
    if (header.length <= 7 || header.slice(0, 7).toLowerCase() !== 'bearer ') throw authError('Authentication Error - a Bearer token is required');
    const token = header.slice(7).trim();
    const expiresAt = this.#tokens.get(token);
    if (expiresAt === undefined) throw authError('Authentication Error - invalid or revoked access token');
    if (Date.now() >= expiresAt) {
      this.#tokens.delete(token);
      throw authError('Authentication Error - access token expired');
    }
  }

  /** POST /api-services/v1/auth/token: OAuth2 client credentials, in the form or (as RFC 6749 allows) as HTTP Basic. */
  issueToken(form: URLSearchParams, headers: IncomingHttpHeaders): Reply {
    const grantType = form.get('grant_type');
    if (grantType === null || grantType === '') throw badRequest('Missing required parameter grant_type');
    if (grantType !== 'client_credentials') throw badRequest(`Unsupported grant_type ${grantType}; use client_credentials`);
    let clientId = form.get('client_id');
    let clientSecret = form.get('client_secret');
    if ((clientId === null || clientSecret === null) && headers.authorization !== undefined) {
      const pair = decodeBasic(headers.authorization);
      if (pair !== null) [clientId, clientSecret] = pair;
    }
    if (clientId !== this.credentials.clientId || clientSecret !== this.credentials.clientSecret) {
      throw authError('Authentication Error - invalid client credentials');
    }
    const token = randomBytes(24).toString('base64url');
    if (this.#tokens.size >= MAX_TOKENS) this.#prune();
    this.#tokens.set(token, Date.now() + this.ttlSeconds * 1000);
    const body: TokenResponse = { access_token: token, expires_in: this.ttlSeconds, token_type: 'Bearer' };
    return jsonReply(200, body);
  }

  revokeAll(): void {
    this.#tokens.clear();
  }

  #prune(): void {
    const now = Date.now();
    for (const [token, expiresAt] of this.#tokens) if (now >= expiresAt) this.#tokens.delete(token);
    // Insertion order is issue order: drop the oldest until there is room.
    for (const token of this.#tokens.keys()) {
      if (this.#tokens.size < MAX_TOKENS) break;
      this.#tokens.delete(token);
    }
  }
}
