// A small JSON client for the Kubernetes API on top of undici, with the credentials of a
// KubeConfig. The operator needs list/watch streams, merge patches on status subresources and
// Lease updates with optimistic concurrency; one shared connection pool serves them all.

import type { Readable } from 'node:stream';
import type { KubeConfig } from '@kubernetes/client-node';
import { type Dispatcher, request } from 'undici';
import { type ApiAuth, kubeConfigObjectAuth } from './auth.ts';

export type Query = Record<string, string | number | boolean | undefined>;

export interface KubeResponse<T> {
  status: number;
  body: T;
}

export interface RequestOptions {
  query?: Query;
  body?: unknown;
  /** Default `application/json`; patches pass `application/merge-patch+json`. */
  contentType?: string;
  timeoutMs?: number;
  signal?: AbortSignal;
}

/** A non-2xx answer from the API server, with the `Status` reason when it sent one. */
export class KubeApiError extends Error {
  readonly statusCode: number;
  readonly reason: string;
  /** The answer's body: the parsed `Status`, or the text when it was not JSON. */
  readonly body: unknown;
  constructor(statusCode: number, reason: string, message: string, body?: unknown) {
    super(message);
    this.name = 'KubeApiError';
    this.statusCode = statusCode;
    this.reason = reason;
    this.body = body;
  }
}

export function isStatus(err: unknown, code: number): boolean {
  return err instanceof KubeApiError && err.statusCode === code;
}

interface StatusBody {
  kind?: string;
  reason?: string;
  message?: string;
  code?: number;
}

export class KubeClient {
  readonly server: string;
  readonly #auth: ApiAuth;
  readonly #timeoutMs: number;

  /** From loaded credentials (see auth.ts), or a client-node KubeConfig. */
  constructor(auth: ApiAuth | KubeConfig, opts: { timeoutMs?: number } = {}) {
    this.#auth = 'getCurrentCluster' in auth ? kubeConfigObjectAuth(auth) : auth;
    this.server = this.#auth.server;
    this.#timeoutMs = opts.timeoutMs ?? 30_000;
  }

  url(path: string, query?: Query): string {
    const u = new URL(this.server + path);
    for (const [k, v] of Object.entries(query ?? {})) {
      if (v !== undefined) u.searchParams.set(k, String(v));
    }
    return u.toString();
  }

  // Headers are taken per request: a token file may have rotated.
  async #prepare(): Promise<{ headers: Record<string, string>; dispatcher: Dispatcher }> {
    const [headers, dispatcher] = await Promise.all([this.#auth.headers(), this.#auth.dispatcher()]);
    return { headers: { ...headers }, dispatcher };
  }

  async #exchange(
    method: string,
    path: string,
    opts: RequestOptions,
  ): Promise<{ status: number; text: string }> {
    const url = this.url(path, opts.query);
    const { headers, dispatcher } = await this.#prepare();
    headers.accept = 'application/json';
    let body: string | undefined;
    if (opts.body !== undefined) {
      body = JSON.stringify(opts.body);
      headers['content-type'] = opts.contentType ?? 'application/json';
    }
    const timeoutMs = opts.timeoutMs ?? this.#timeoutMs;
    const signals = [AbortSignal.timeout(timeoutMs)];
    if (opts.signal) signals.push(opts.signal);
    const res = await request(url, {
      method: method as Dispatcher.HttpMethod,
      headers,
      body,
      dispatcher,
      signal: AbortSignal.any(signals),
      headersTimeout: timeoutMs,
      bodyTimeout: timeoutMs,
    });
    return { status: res.statusCode, text: await res.body.text() };
  }

  async request<T>(method: string, path: string, opts: RequestOptions = {}): Promise<T> {
    const { status, text } = await this.#exchange(method, path, opts);
    if (status < 200 || status >= 300) throw errorFrom(status, text);
    return (text === '' ? undefined : JSON.parse(text)) as T;
  }

  /**
   * Like `request`, but answers with any status instead of throwing, for callers to whom 404 or
   * 409 is an ordinary answer. A body that is not JSON (a proxy's error page) stays text.
   */
  async send<T>(method: string, path: string, opts: RequestOptions = {}): Promise<KubeResponse<T>> {
    const { status, text } = await this.#exchange(method, path, opts);
    if (status < 200 || status >= 300) return { status, body: errorFrom(status, text).body as T };
    return { status, body: (text === '' ? undefined : JSON.parse(text)) as T };
  }

  get<T>(path: string, opts?: RequestOptions): Promise<T> {
    return this.request<T>('GET', path, opts);
  }

  /**
   * Opens a streaming GET (a watch). `idleTimeoutMs` bounds the silence between chunks, so a
   * connection that died without a FIN is noticed.
   */
  async stream(
    path: string,
    query: Query,
    opts: { signal: AbortSignal; idleTimeoutMs: number },
  ): Promise<Readable> {
    const url = this.url(path, query);
    const { headers, dispatcher } = await this.#prepare();
    headers.accept = 'application/json';
    const res = await request(url, {
      method: 'GET',
      headers,
      dispatcher,
      signal: opts.signal,
      headersTimeout: this.#timeoutMs,
      bodyTimeout: opts.idleTimeoutMs,
    });
    if (res.statusCode !== 200) {
      const text = await res.body.text().catch(() => '');
      throw errorFrom(res.statusCode, text);
    }
    return res.body;
  }

  /** Closes every connection, open watches included. */
  async close(): Promise<void> {
    await this.#auth.close();
  }
}

export function errorFrom(statusCode: number, text: string): KubeApiError {
  let status: StatusBody = {};
  let body: unknown = text;
  try {
    body = JSON.parse(text);
    status = (body ?? {}) as StatusBody;
  } catch {
    // not a Status object
  }
  const reason = status.reason ?? `HTTP${statusCode}`;
  const message = status.message ?? (text.slice(0, 200) || `HTTP ${statusCode}`);
  return new KubeApiError(statusCode, reason, `${statusCode} ${reason}: ${message}`, body);
}
