// One client request on its way through the edge: the state the forwarder, access log and
// metrics share. Also the undici dispatch handler for the upstream leg, so a request costs one
// object rather than a handler plus closures.

import type { OutgoingHttpHeaders, ServerResponse } from 'node:http';
import type { Http2ServerResponse, ServerHttp2Stream } from 'node:http2';
import type { Dispatcher } from 'undici';
import type { BackendRuntime, RouteRuntime, RoutingTable } from '../routing/table.ts';
import type { Upstream, UpstreamRegistry } from '../upstream/registry.ts';
import { endFaulted, type FaultContext, type FaultSink, report, silentFaults } from './contain.ts';
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
  /** Where a throw in the undici callbacks or the close handler is reported (stage `response`). */
  fault?: FaultSink['fault'];
}

type DispatchBody = Dispatcher.DispatchOptions['body'];

/** NGHTTP2_NO_ERROR: the stream closed normally. */
const http2NoError = 0;

function faultContext(ex: Exchange): FaultContext {
  return {
    requestId: ex.requestId || undefined,
    method: ex.req.method,
    host: ex.rawHost || undefined,
    path: ex.path || undefined,
  };
}

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
  /** The endpoint affinity cookie, sent next to the upstream's own and the split's. */
  affinitySetCookie: string | undefined = undefined;
  /** Headers a policy step adds to the upstream's answer, `[name, value, ...]` (CORS, custom headers). */
  extraResponseHeaders: string[] | undefined = undefined;
  /** Path and query sent upstream when a policy step rewrote them; else the request's. */
  upstreamTarget: string | undefined = undefined;
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
  /** A throw in our own callback code ended this exchange (see #faulted). */
  #fault = false;
  /** The upstream is paused until the client response drains; one listener at a time. */
  #awaitingDrain = false;
  /** HTTP/2 only: the stream, whose reset code tells a delivered response from a cancelled one. */
  readonly #stream: ServerHttp2Stream | undefined;

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
    this.#stream = isHttp2(res) ? (res as Http2ServerResponse).stream : undefined;
    table.enter();
    // `on`, not `once`: the response is never reused, and `once` wraps and unhooks per request.
    // 'close' comes however the client goes: h1 socket closed, h2 RST_STREAM, session destroyed
    // or GOAWAY with an error, reset in the middle of the upload.
    res.on('close', this.#onClose);
  }

  /**
   * The client can no longer receive this response. HTTP/2 compatibility responses have no
   * `destroyed`, and report `writableFinished` even after a reset: ask the stream.
   */
  get clientGone(): boolean {
    if (this.#clientGone) return true;
    const stream = this.#stream;
    return stream !== undefined ? stream.destroyed || stream.closed : this.res.destroyed;
  }

  /** Whether the whole response reached the client's connection (at close time). */
  #delivered(): boolean {
    const stream = this.#stream;
    if (stream === undefined) return this.res.writableFinished;
    return this.res.writableEnded && stream.rstCode === http2NoError;
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
      path: this.upstreamTarget ?? this.path + this.query,
      method: this.req.method!,
      headers,
      body,
      headersTimeout: policy.responseTimeoutMs,
      bodyTimeout: policy.responseTimeoutMs,
    };
    this.#send(upstream, policy.connectTimeoutMs);
  }

  #send(upstream: Upstream, connectTimeoutMs: number): void {
    this.#controller = undefined;
    this.#connectTimeoutMs = connectTimeoutMs;
    this.upstream = upstream;
    upstream.inflight++;
    this.#upstreamOpen = true;
    this.#requestStarted = false;
    try {
      upstream.pool(connectTimeoutMs).dispatch(this.#dispatch!, this);
    } catch (err) {
      // Nothing was dispatched: give the slot back before the fault is handled above us.
      this.#closeUpstream();
      throw err;
    }
  }

  /** Releases the in-flight count of the current attempt; safe to call more than once. */
  #closeUpstream(): void {
    if (!this.#upstreamOpen) return;
    this.#upstreamOpen = false;
    this.upstream!.inflight--;
    this.#stopAwaitingDrain();
  }

  /** Aborts the upstream attempt for a client that went away; undici then frees the connection. */
  #abortUpstream(): void {
    const controller = this.#controller;
    // Without a controller the request has not started: onRequestStart aborts it.
    if (this.#upstreamOpen && controller !== undefined && !controller.aborted) {
      controller.abort(new ClientGoneError());
    }
  }

  readonly #onDrain = (): void => {
    this.#awaitingDrain = false;
    const controller = this.#controller;
    if (this.#upstreamOpen && controller !== undefined && !controller.aborted) controller.resume();
  };

  #stopAwaitingDrain(): void {
    if (!this.#awaitingDrain) return;
    this.#awaitingDrain = false;
    this.res.off('drain', this.#onDrain);
  }

  // --- undici handler ---
  // undici calls these from its socket events: a throw must end this request only (contain.ts).

  onRequestStart(controller: Dispatcher.DispatchController): void {
    try {
      this.#requestStart(controller);
    } catch (err) {
      this.#faulted(err);
    }
  }

  onResponseStart(
    controller: Dispatcher.DispatchController,
    statusCode: number,
    headers: Record<string, string | string[] | undefined>,
  ): void {
    try {
      this.#responseStart(controller, statusCode, headers);
    } catch (err) {
      this.#faulted(err);
    }
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    try {
      this.#responseData(controller, chunk);
    } catch (err) {
      this.#faulted(err);
    }
  }

  onResponseEnd(): void {
    try {
      this.#responseEnd();
    } catch (err) {
      this.#faulted(err);
    }
  }

  onResponseError(controller: Dispatcher.DispatchController, err: Error): void {
    if (this.#fault) return; // the abort of a faulted exchange: already answered
    try {
      this.#responseError(controller, err);
    } catch (e) {
      this.#faulted(e);
    }
  }

  /**
   * A throw in our own code while relaying: reported, the upstream attempt aborted (its
   * connection freed), and the client answered 500 or, once the response started, cut.
   */
  #faulted(err: unknown): void {
    if (this.#fault) return;
    this.#fault = true;
    const sink: FaultSink = this.#observer.fault !== undefined ? (this.#observer as FaultSink) : silentFaults;
    report(sink, 'response', err, faultContext, [this]);
    const controller = this.#controller;
    this.#closeUpstream();
    try {
      if (controller !== undefined && !controller.aborted) controller.abort(new ClientGoneError());
    } catch {
      // The dispatch is already over.
    }
    if (!this.res.headersSent) this.status = 500;
    const server = this.res.getHeader('server');
    endFaulted(this.res, typeof server === 'string' ? server : '');
  }

  #requestStart(controller: Dispatcher.DispatchController): void {
    this.#controller = controller;
    this.#requestStarted = true;
    if (this.clientGone) {
      this.#clientGone = true;
      controller.abort(new ClientGoneError());
    }
  }

  #responseStart(
    controller: Dispatcher.DispatchController,
    statusCode: number,
    headers: Record<string, string | string[] | undefined>,
  ): void {
    // 1xx interim responses (100 Continue, 103 Early Hints) are not relayed.
    if (statusCode < 200) return;
    this.#controller = controller;
    this.#responded = true;
    const res = this.res;
    if (this.clientGone) {
      this.#clientGone = true;
      controller.abort(new ClientGoneError());
      return;
    }
    this.#registry.recordSuccess(this.upstream!);
    const out = filterResponseHeaders(headers);
    for (const extra of [this.extraSetCookie, this.affinitySetCookie]) {
      if (extra === undefined) continue;
      const existing = out['set-cookie'];
      out['set-cookie'] =
        existing === undefined
          ? extra
          : [...(Array.isArray(existing) ? existing : [String(existing)]), extra];
    }
    if (this.extraResponseHeaders !== undefined) addHeaders(out, this.extraResponseHeaders);
    if (this.closeAfter && !isHttp2(res)) out.connection = 'close';
    this.status = statusCode;
    try {
      res.writeHead(statusCode, out);
    } catch {
      // An upstream header Node refuses to send (invalid characters): treat as a bad upstream.
      controller.abort(new Error('invalid upstream response header'));
    }
  }

  #responseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    if (this.res.write(chunk)) return;
    // A response whose client is gone never drains: waiting for it would hold the upstream
    // connection for good.
    if (this.clientGone) {
      this.#clientGone = true;
      controller.abort(new ClientGoneError());
      return;
    }
    controller.pause();
    if (!this.#awaitingDrain) {
      this.#awaitingDrain = true;
      this.res.once('drain', this.#onDrain);
    }
  }

  #responseEnd(): void {
    this.#closeUpstream();
    if (!this.clientGone) this.res.end();
  }

  #responseError(_controller: Dispatcher.DispatchController, err: Error): void {
    this.#closeUpstream();
    const upstream = this.upstream!;
    // A request body that failed on the client side (reset mid-upload) is the client's doing.
    const clientFailed = this.clientGone || (this.#hasBody && this.req.errored != null);
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
      if (next !== undefined && !this.clientGone) {
        this.retried = true;
        this.#send(next, this.#connectTimeoutMs);
        return;
      }
    }
    if (this.res.headersSent || this.clientGone) {
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
    try {
      this.#stopAwaitingDrain();
      if (!this.#delivered()) {
        this.#clientGone = true;
        this.#abortUpstream();
        if (this.status === 0 || !this.res.headersSent) this.status = 499;
      }
    } catch (err) {
      // Runs from the response's 'close' event; the response is over either way.
      const sink: FaultSink =
        this.#observer.fault !== undefined ? (this.#observer as FaultSink) : silentFaults;
      report(sink, 'response', err, faultContext, [this]);
    }
    this.table.leave();
    this.#observer.done(this);
  };
}

/** Sets each `[name, value, ...]` pair on `out`, replacing what the upstream sent under that name. */
function addHeaders(out: OutgoingHttpHeaders, pairs: readonly string[]): void {
  const seen = new Set<string>();
  for (let i = 0; i < pairs.length; i += 2) {
    const name = pairs[i];
    const value = pairs[i + 1];
    const existing = out[name];
    if (existing === undefined || !seen.has(name)) {
      out[name] = value;
      seen.add(name);
    } else out[name] = [...(Array.isArray(existing) ? existing : [String(existing)]), value];
  }
}
