import type { Simulator } from '../../src/simulator';

export interface HttpAnswer<T = Record<string, unknown>> {
  status: number;
  headers: Headers;
  body: T;
}

/** Calls a running simulator the way a client would: form bodies, JSON answers, the mode's credentials. */
export class SimHttp {
  #token: string | undefined;

  constructor(private readonly sim: Simulator) {}

  async authorization(): Promise<string> {
    const { mode, credentials } = this.sim;
    if (mode === 'twilio') return 'Basic ' + Buffer.from(`${credentials.accountSid}:${credentials.authToken}`).toString('base64');
    if (this.#token === undefined) {
      const answer = await this.token({ grant_type: 'client_credentials', client_id: credentials.clientId, client_secret: credentials.clientSecret });
      if (answer.status !== 200) throw new Error(`token request failed: ${answer.status}`);
      this.#token = answer.body.access_token as string;
    }
    return `Bearer ${this.#token}`;
  }

  forgetToken(): void {
    this.#token = undefined;
  }

  token(form: Record<string, string>, headers: Record<string, string> = {}): Promise<HttpAnswer> {
    return this.raw('POST', this.sim.tokenUrl, { body: new URLSearchParams(form).toString(), headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers } });
  }

  async post<T = Record<string, unknown>>(url: string, form: Record<string, string | number>): Promise<HttpAnswer<T>> {
    const body = new URLSearchParams(Object.entries(form).map(([k, v]): [string, string] => [k, String(v)])).toString();
    return this.raw<T>('POST', url, { body, headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: await this.authorization() } });
  }

  async get<T = Record<string, unknown>>(url: string): Promise<HttpAnswer<T>> {
    return this.raw<T>('GET', url, { headers: { authorization: await this.authorization() } });
  }

  async delete<T = Record<string, unknown>>(url: string): Promise<HttpAnswer<T>> {
    return this.raw<T>('DELETE', url, { headers: { authorization: await this.authorization() } });
  }

  async raw<T = Record<string, unknown>>(method: string, url: string, init: { body?: string; headers?: Record<string, string>; signal?: AbortSignal } = {}): Promise<HttpAnswer<T>> {
    const response = await fetch(url, { method, body: init.body, headers: init.headers, signal: init.signal });
    const text = await response.text();
    return { status: response.status, headers: response.headers, body: (text === '' ? {} : JSON.parse(text)) as T };
  }
}
