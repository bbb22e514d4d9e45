import { STATUS_CODES } from 'node:http';
import type { OutgoingHttpHeaders } from 'node:http';
import type { ApiErrorBody } from '../api';
import type { SimulatorMode } from './types';

export const ErrorCode = {
  invalidParameter: 20001,
  authentication: 20003,
  notFound: 20404,
  tooManyRequests: 20429,
  internal: 20500,
  unavailable: 20503,
} as const;

/** What a handler answers; written (or withheld, under a fault) by the server in one place. */
export interface Reply {
  status: number;
  body: string;
  headers?: OutgoingHttpHeaders;
}

/** Thrown by handlers and checks; the server turns it into the vendors' error JSON. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: number,
    message: string,
    readonly headers?: OutgoingHttpHeaders,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

export function badRequest(message: string): ApiError {
  return new ApiError(400, ErrorCode.invalidParameter, message);
}

export function notFound(message: string): ApiError {
  return new ApiError(404, ErrorCode.notFound, message);
}

export function jsonReply(status: number, value: unknown): Reply {
  return { status, body: JSON.stringify(value) };
}

export const NO_CONTENT: Reply = { status: 204, body: '' };

const DEFAULT_CODES: Record<number, number> = {
  400: ErrorCode.invalidParameter,
  401: ErrorCode.authentication,
  403: ErrorCode.authentication,
  404: ErrorCode.notFound,
  429: ErrorCode.tooManyRequests,
  500: ErrorCode.internal,
  503: ErrorCode.unavailable,
};

/** The API code a bare HTTP status stands for, for faults that name only a status. */
export function defaultCode(status: number): number {
  return DEFAULT_CODES[status] ?? 20000 + status;
}

export function defaultMessage(status: number): string {
  return STATUS_CODES[status] ?? `HTTP ${status}`;
}

export function errorReply(mode: SimulatorMode, status: number, code: number, message: string, headers?: OutgoingHttpHeaders): Reply {
  const moreInfo = mode === 'twilio' ? `https://www.twilio.com/docs/errors/${code}` : `https://docs.korewireless.com/errors/${code}`;
  const body: ApiErrorBody = { status, code, message, more_info: moreInfo };
  return { status, body: JSON.stringify(body), headers };
}
