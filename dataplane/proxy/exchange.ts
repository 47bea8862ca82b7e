// One client request on its way through the edge: the state the forwarder, access log and
// metrics share. Also the undici dispatch handler for the upstream leg, so a request costs one
// object rather than a handler plus closures.

import type { OutgoingHttpHeaders, ServerResponse } from 'node:http';
import type { Dispatcher } from 'undici';
import type { BackendRuntime, RouteRuntime, RoutingTable } from '../routing/table.ts';
import type { Upstream, UpstreamRegistry } from '../upstream/registry.ts';
import { filterResponseHeaders } from './headers.ts';
import { isHttp2, localReply } from './local-reply.ts';
import type { EdgeRequest, EdgeResponse, Scheme } from './types.ts';
import {
  ClientGoneError,
  classifyUpstreamError,
  isConnectFailure,
  statusForUpstreamError,
  type UpstreamErrorKind,
} from './upstream-errors.ts';

export interface ExchangeObserver {
  /** Called exactly once, when the client response is finished or abandoned. */
  done(ex: Exchange): void;
  upstreamError(ex: Exchange, kind: UpstreamErrorKind): void;
}

type DispatchBody = Dispatcher.DispatchOptions['body'];

export class Exchange {
  readonly req: EdgeRequest;
  /** HTTP/2 compatibility responses share this interface for everything used here. */
  readonly res: ServerResponse;
  readonly scheme: Scheme;
  readonly table: RoutingTable;
  readonly startedAt: number;
  readonly #observer: ExchangeObserver;
  readonly #registry: UpstreamRegistry;

  status = 0;
  rawHost = '';
  path = '';
  query = '';
  client = '';
  requestId = '';
  route: RouteRuntime | undefined = undefined;
  backend: BackendRuntime | undefined = undefined;
  upstream: Upstream | undefined = undefined;
  errorKind: UpstreamErrorKind | undefined = undefined;
  retried = false;
  /** Response header additions decided before the upstream answered (sticky cookie). */
  extraSetCookie: string | undefined = undefined;
  /** Ask the client to close after this response (draining, bad framing). */
  closeAfter = false;

  #dispatch: Dispatcher.DispatchOptions | undefined = undefined;
  #connectTimeoutMs = 0;
  #controller: Dispatcher.DispatchController | undefined = undefined;
  #requestStarted = false;
  #responded = false;
  #clientGone = false;
  #upstreamOpen = false;
  #finished = false;
  #hasBody = false;

  constructor(
    req: EdgeRequest,
    res: EdgeResponse,
    scheme: Scheme,
    table: RoutingTable,
    observer: ExchangeObserver,
    registry: UpstreamRegistry,
  ) {
    this.req = req;
    this.res = res as ServerResponse;
    this.scheme = scheme;
    this.table = table;
    this.startedAt = performance.now();
    this.#observer = observer;
    this.#registry = registry;
    table.enter();
    // `on`, not `once`: the response is never reused, and `once` wraps and unhooks per request.
    res.on('close', this.#onClose);
  }

  /** Answers locally (no upstream), recording the status. */
  reply(status: number, message?: string, extra?: OutgoingHttpHeaders, close = false): void {
    this.status = status;
    localReply(this.res, status, message, extra, close || this.closeAfter);
  }

  /** Sends the request to `upstream`; `body` is null, the request stream, or a limited stream. */
  forward(upstream: Upstream, headers: string[], body: DispatchBody, policy: RouteRuntime['policy']): void {
    this.#hasBody = body !== null;
    this.#dispatch = {
      path: this.path + this.query,
      method: this.req.method!,
      headers,
      body,
      headersTimeout: policy.responseTimeoutMs,
      bodyTimeout: policy.responseTimeoutMs,
    };
    this.#send(upstream, policy.connectTimeoutMs);
  }

  #send(upstream: Upstream, connectTimeoutMs: number): void {
    this.#connectTimeoutMs = connectTimeoutMs;
    this.upstream = upstream;
    upstream.inflight++;
    this.#upstreamOpen = true;
    this.#requestStarted = false;
    upstream.pool(connectTimeoutMs).dispatch(this.#dispatch!, this);
  }

  #closeUpstream(): void {
    if (!this.#upstreamOpen) return;
    this.#upstreamOpen = false;
    this.upstream!.inflight--;
  }

  // --- undici handler ---

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.#controller = controller;
    this.#requestStarted = true;
    if (this.#clientGone) controller.abort(new ClientGoneError());
  }

  onResponseStart(
    controller: Dispatcher.DispatchController,
    statusCode: number,
    headers: Record<string, string | string[] | undefined>,
  ): void {
    // 1xx interim responses (100 Continue, 103 Early Hints) are not relayed.
    if (statusCode < 200) return;
    this.#controller = controller;
    this.#responded = true;
    const res = this.res;
    if (this.#clientGone || res.destroyed) {
      controller.abort(new ClientGoneError());
      return;
    }
    this.#registry.recordSuccess(this.upstream!);
    const out = filterResponseHeaders(headers);
    if (this.extraSetCookie !== undefined) {
      const existing = out['set-cookie'];
      out['set-cookie'] =
        existing === undefined
          ? this.extraSetCookie
          : [...(Array.isArray(existing) ? existing : [String(existing)]), this.extraSetCookie];
    }
    if (this.closeAfter && !isHttp2(res)) out.connection = 'close';
    this.status = statusCode;
    try {
      res.writeHead(statusCode, out);
    } catch {
      // An upstream header Node refuses to send (invalid characters): treat as a bad upstream.
      controller.abort(new Error('invalid upstream response header'));
    }
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    if (!this.res.write(chunk)) {
      controller.pause();
      this.res.once('drain', () => controller.resume());
    }
  }

  onResponseEnd(): void {
    this.#closeUpstream();
    this.res.end();
  }

  onResponseError(_controller: Dispatcher.DispatchController, err: Error): void {
    this.#closeUpstream();
    const upstream = this.upstream!;
    // A request body that failed on the client side (reset mid-upload) is the client's doing.
    const clientFailed = this.#clientGone || (this.#hasBody && this.req.errored != null);
    const kind = clientFailed ? 'client_aborted' : classifyUpstreamError(err);
    this.errorKind = kind;
    if (kind === 'client_aborted') {
      this.status ||= 499;
      return;
    }
    this.#observer.upstreamError(this, kind);
    const connectFailure = isConnectFailure(kind);
    if (connectFailure) this.#registry.recordFailure(upstream);

    if (!this.#responded && !this.retried && this.#mayRetry(kind)) {
      // Another endpoint if there is one; the same one only when a kept-alive connection was
      // closed under us (the endpoint itself is fine).
      const next = this.backend?.balancer.pick(upstream) ?? (connectFailure ? undefined : upstream);
      if (next !== undefined && !this.res.destroyed) {
        this.retried = true;
        this.#send(next, this.#connectTimeoutMs);
        return;
      }
    }
    if (this.res.headersSent) {
      this.res.destroy();
      return;
    }
    const status = statusForUpstreamError(kind);
    this.reply(status, undefined, undefined, kind === 'body_too_large');
  }

  /** Retry only when nothing reached the upstream, or for a bodiless idempotent request. */
  #mayRetry(kind: UpstreamErrorKind): boolean {
    if (kind === 'body_too_large' || kind === 'response_timeout') return false;
    if (!this.#requestStarted) return true;
    const m = this.req.method;
    return (
      !this.#hasBody &&
      (kind === 'reset' || kind === 'closed') &&
      (m === 'GET' || m === 'HEAD' || m === 'OPTIONS')
    );
  }

  readonly #onClose = (): void => {
    if (this.#finished) return;
    this.#finished = true;
    if (!this.res.writableFinished) {
      this.#clientGone = true;
      if (this.#upstreamOpen && this.#controller !== undefined && !this.#controller.aborted) {
        this.#controller.abort(new ClientGoneError());
      }
      if (this.status === 0 || !this.res.headersSent) this.status = 499;
    }
    this.table.leave();
    this.#observer.done(this);
  };
}
