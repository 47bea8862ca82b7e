// HTTP client for one data plane's config API: `GET /v1/config` (which version is applied),
// `PUT /v1/config` (apply this whole config) and `PATCH /v1/config` (apply these changes to the
// version you run), with the bearer token, over TLS when a CA is given.

import { Agent, type Dispatcher, request } from 'undici';

export interface DataplaneClientOptions {
  /** Returns the bearer token (read from its file). */
  token: () => Promise<string>;
  /** PEM CA bundle to verify data-plane certificates; plain HTTP endpoints need none. */
  ca?: string;
  /** Name to verify in the data plane's certificate instead of the address. */
  serverName?: string;
  timeoutMs?: number;
}

export class PushError extends Error {
  readonly statusCode: number | undefined;
  constructor(message: string, statusCode?: number) {
    super(message);
    this.name = 'PushError';
    this.statusCode = statusCode;
  }
}

export class DataplaneClient {
  readonly #opts: DataplaneClientOptions;
  readonly #agent: Dispatcher;
  readonly #timeoutMs: number;

  constructor(opts: DataplaneClientOptions) {
    this.#opts = opts;
    this.#timeoutMs = opts.timeoutMs ?? 10_000;
    this.#agent = new Agent({
      connect: {
        ca: opts.ca,
        servername: opts.serverName,
        timeout: this.#timeoutMs,
      },
      keepAliveTimeout: 30_000,
    });
  }

  /** The version the replica has applied, or undefined when it has none yet. */
  async appliedVersion(baseUrl: string, signal?: AbortSignal): Promise<string | undefined> {
    const res = await this.#send(baseUrl, 'GET', undefined, signal);
    if (res.status === 404 || res.status === 503) return undefined;
    if (res.status !== 200)
      throw new PushError(`GET /v1/config: HTTP ${res.status}${detail(res.text)}`, res.status);
    try {
      const body = JSON.parse(res.text) as { version?: unknown };
      return typeof body.version === 'string' && body.version !== '' ? body.version : undefined;
    } catch {
      throw new PushError('GET /v1/config: answer is not JSON', res.status);
    }
  }

  /** Sends the whole config (already serialised); resolves once the replica has applied it. */
  async put(baseUrl: string, body: string, signal?: AbortSignal): Promise<void> {
    const res = await this.#send(baseUrl, 'PUT', body, signal);
    if (res.status < 200 || res.status >= 300) {
      throw new PushError(`PUT /v1/config: HTTP ${res.status}${detail(res.text)}`, res.status);
    }
  }

  /** Sends a config patch (already serialised); 409 means the replica is not at its base version. */
  async patch(baseUrl: string, body: string, signal?: AbortSignal): Promise<void> {
    const res = await this.#send(baseUrl, 'PATCH', body, signal);
    if (res.status < 200 || res.status >= 300) {
      throw new PushError(`PATCH /v1/config: HTTP ${res.status}${detail(res.text)}`, res.status);
    }
  }

  async close(): Promise<void> {
    await this.#agent.close().catch(() => undefined);
  }

  async #send(
    baseUrl: string,
    method: 'GET' | 'PUT' | 'PATCH',
    body: string | undefined,
    signal: AbortSignal | undefined,
  ): Promise<{ status: number; text: string }> {
    const token = await this.#opts.token();
    const signals = [AbortSignal.timeout(this.#timeoutMs)];
    if (signal) signals.push(signal);
    const headers: Record<string, string> = { authorization: `Bearer ${token}`, accept: 'application/json' };
    if (body !== undefined) headers['content-type'] = 'application/json';
    const res = await request(`${baseUrl}/v1/config`, {
      method,
      headers,
      body,
      dispatcher: this.#agent,
      signal: AbortSignal.any(signals),
      headersTimeout: this.#timeoutMs,
      bodyTimeout: this.#timeoutMs,
    });
    const text = await res.body.text();
    return { status: res.statusCode, text };
  }
}

function detail(text: string): string {
  if (text === '') return '';
  try {
    const body = JSON.parse(text) as { message?: unknown; error?: unknown };
    const msg =
      typeof body.message === 'string' ? body.message : typeof body.error === 'string' ? body.error : '';
    return msg ? `: ${msg.slice(0, 300)}` : '';
  } catch {
    return `: ${text.slice(0, 200)}`;
  }
}
