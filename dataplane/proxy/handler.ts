// The traffic path: one function per request that normalises, routes, redirects, splits,
// balances and forwards. Framework-free on purpose: it runs under node:http and node:http2
// directly, because a proxy parses and writes HTTP twice and every layer above the server costs
// a measurable share of throughput.

import type { Http2ServerRequest } from 'node:http2';
import type { TrustedProxies } from '../edge/trusted-proxies.ts';
import { routeAffinity } from '../policy/affinity.ts';
import { runSteps, type StepContext } from '../policy/index.ts';
import type { RoutingTable } from '../routing/table.ts';
import type { UpstreamRegistry } from '../upstream/registry.ts';
import { limitBody } from './body-limit.ts';
import {
  endFaulted,
  endFaultedSocket,
  type FaultContext,
  type FaultSink,
  report,
  requestContext,
  silentFaults,
} from './contain.ts';
import { Exchange, type ExchangeObserver } from './exchange.ts';
import { addForwardingHeaders } from './headers.ts';
import { isHttp2Request, localReply } from './local-reply.ts';
import { isRefusal, type Prepared, prepare } from './prepare.ts';
import { nextRequestId } from './request-id.ts';
import type { EdgeRequest, EdgeResponse, Scheme } from './types.ts';
import type { UpgradeHandler } from './upgrade.ts';

export interface ProxyHandlerOptions {
  /** Current routing table, read once per request. */
  table(): RoutingTable | undefined;
  registry: UpstreamRegistry;
  trustedProxies: TrustedProxies;
  observer: ExchangeObserver;
  /** Port put into HTTPS redirects (omitted when 443). */
  httpsRedirectPort: number;
  /** Retry-After seconds on 503 answers. */
  retryAfterSeconds: number;
  /** True while shutting down: responses ask clients to close their connection. */
  draining(): boolean;
  /** The Server header of every answer, local or proxied; '' sends none. Default `sluice`. */
  serverHeader?: string;
  /** Where a fault (a throw while handling one request) is reported. */
  faults?: FaultSink;
}

export type RequestHandler = (req: EdgeRequest, res: EdgeResponse) => void;

export interface RequestHandlers {
  /** The 'request' event. */
  request: RequestHandler;
  /**
   * The 'checkContinue' event (`Expect: 100-continue`): the request is routed and its declared
   * size checked first; `100 Continue` is written only when it is about to be forwarded.
   */
  checkContinue: RequestHandler;
}

/** The HTTP/1 versions the listeners serve; node:http's parser also lets `0.9` and `2.0` through. */
export function isSupportedHttp1(req: { httpVersionMajor: number; httpVersionMinor: number }): boolean {
  return req.httpVersionMajor === 1 && (req.httpVersionMinor === 1 || req.httpVersionMinor === 0);
}

export const VERSION_NOT_SUPPORTED =
  'HTTP version not supported: HTTP/1.1, HTTP/1.0 or HTTP/2 (TLS, by ALPN)';

export function createRequestHandler(scheme: Scheme, opts: ProxyHandlerOptions): RequestHandler {
  return createRequestHandlers(scheme, opts).request;
}

export function createRequestHandlers(scheme: Scheme, opts: ProxyHandlerOptions): RequestHandlers {
  const retryAfter = { 'retry-after': String(opts.retryAfterSeconds) };
  const redirectPort = opts.httpsRedirectPort === 443 ? '' : `:${opts.httpsRedirectPort}`;
  const server = opts.serverHeader ?? 'sluice';
  const faults = opts.faults ?? silentFaults;

  function handle(req: EdgeRequest, res: EdgeResponse, expectContinue: boolean): void {
    let ex: Exchange | undefined;
    try {
      if (server !== '') res.setHeader('server', server);
      // What the request object is decides the protocol, never the version the client wrote.
      const h2 = isHttp2Request(req);
      if (!h2 && !isSupportedHttp1(req)) {
        localReply(res, 505, VERSION_NOT_SUPPORTED, undefined, true);
        return;
      }
      const table = opts.table();
      if (table === undefined) {
        localReply(res, 503, 'no configuration applied yet', retryAfter, expectContinue);
        return;
      }
      ex = new Exchange(req, res, scheme, table, opts.observer, opts.registry);
      // Until `100 Continue` is sent the client may or may not send its body: a local answer
      // before that point closes the connection rather than guess where the next request starts.
      if (expectContinue || opts.draining()) ex.closeAfter = true;

      const p = prepare(req, scheme, table, opts.trustedProxies);
      if (isRefusal(p)) {
        ex.rawHost = p.rawHost ?? '';
        ex.path = p.path ?? '';
        ex.reply(p.status, p.message, undefined, p.close);
        return;
      }
      ex.rawHost = p.rawHost;
      ex.path = p.path;
      ex.query = p.query;
      ex.client = p.client;
      const route = p.route;
      ex.route = route;
      if (route === undefined) {
        ex.reply(404, 'no route for this host and path');
        return;
      }
      if (route.httpsRedirect && p.clientScheme === 'http') {
        ex.reply(308, 'redirecting to https', {
          location: `https://${p.host}${redirectPort}${p.path}${p.query}`,
        });
        return;
      }

      const limit = route.policy.maxBodyBytes;
      const scan = p.scan;
      if (scan.contentLength !== undefined && Number(scan.contentLength) > limit) {
        ex.reply(413, 'request body too large', undefined, true);
        return;
      }

      ex.requestId = p.trusted && scan.requestId !== undefined ? scan.requestId : nextRequestId();
      addForwardingHeaders(scan, {
        trusted: p.trusted,
        peer: p.peer,
        client: p.client,
        proto: p.clientScheme,
        host: p.rawHost,
        requestId: ex.requestId,
      });

      if (route.steps.length > 0) {
        const ctx = stepContext(ex, req, p, scan.headers);
        const answered = runSteps(route.steps, ctx);
        if (answered === true) return;
        if (answered !== false) {
          const exchange = ex;
          answered.then(
            (done) => {
              if (done) return;
              try {
                proceed(req, res, exchange, p, expectContinue);
              } catch (err) {
                fault(err, req, res, exchange);
              }
            },
            (err) => fault(err, req, res, exchange),
          );
          return;
        }
      }
      proceed(req, res, ex, p, expectContinue);
    } catch (err) {
      fault(err, req, res, ex);
    }
  }

  function fault(err: unknown, req: EdgeRequest, res: EdgeResponse, ex: Exchange | undefined): void {
    report(faults, 'request', err, faultContext, [req, ex]);
    if (ex !== undefined && !res.headersSent) ex.status = 500;
    endFaulted(res, server);
  }

  /** After the steps: split, balance, and forward. */
  function proceed(
    req: EdgeRequest,
    res: EdgeResponse,
    ex: Exchange,
    p: Prepared,
    expectContinue: boolean,
  ): void {
    const route = ex.route!;
    const scan = p.scan;
    const limit = route.policy.maxBodyBytes;
    const h2 = isHttp2Request(req);
    const choice = route.splitter.choose(req.headers);
    if (choice.backend === undefined) {
      ex.reply(503, 'no backend has a weight above 0', retryAfter);
      return;
    }
    ex.backend = choice.backend;
    const affinity = route.policy.affinity === undefined ? undefined : routeAffinity(route);
    const sticky = affinity?.choose(
      choice.backend.balancer,
      choice.backend.key,
      req.headers.cookie,
      p.clientScheme === 'https',
    );
    const upstream = sticky !== undefined ? sticky.upstream : choice.backend.balancer.pick();
    if (upstream === undefined) {
      ex.reply(503, 'backend has no ready endpoints', retryAfter);
      return;
    }
    if (choice.issueCookie !== undefined) {
      const secure = p.clientScheme === 'https' ? '; Secure' : '';
      ex.extraSetCookie = `${choice.issueCookie.name}=${choice.issueCookie.value}; Path=/; HttpOnly; SameSite=Lax${secure}`;
    }
    ex.affinitySetCookie = sticky?.setCookie;

    let body: Parameters<Exchange['forward']>[2] = null;
    if (h2) {
      if (!(req as Http2ServerRequest).stream.endAfterHeaders) body = limitBody(req, limit);
    } else if (scan.transferEncoding !== undefined) {
      body = limitBody(req, limit);
    } else if (scan.contentLength !== undefined && scan.contentLength !== '0') {
      // node:http's parser already holds the body to exactly content-length bytes.
      body = req;
    }
    if (expectContinue) {
      // Every check that can refuse the request has passed: now the client may send its body.
      res.writeContinue();
      ex.closeAfter = opts.draining();
    }
    ex.forward(upstream, scan.headers, body, route.policy);
  }

  return {
    request: (req, res) => handle(req, res, false),
    checkContinue: (req, res) => handle(req, res, true),
  };
}

/** What the log says about a faulted request: what was parsed, else what the request object holds. */
function faultContext(req: EdgeRequest, ex: Exchange | undefined): FaultContext {
  const host = req.headers.host ?? req.headers[':authority'];
  return {
    requestId: ex?.requestId || undefined,
    method: req.method,
    host: ex?.rawHost || (typeof host === 'string' ? host.slice(0, 256) : undefined),
    path: ex?.path || (typeof req.url === 'string' ? req.url.split('?', 1)[0].slice(0, 1024) : undefined),
  };
}

/**
 * The entry of a WebSocket upgrade: the same HTTP version rule as plain requests (505 and close),
 * and a throw in the upgrade handler ends that connection (500 if nothing was written yet).
 */
export function guardUpgrade(
  upgrade: UpgradeHandler,
  opts: { faults?: FaultSink; serverHeader?: string },
): UpgradeHandler {
  const faults = opts.faults ?? silentFaults;
  const server = opts.serverHeader ?? 'sluice';
  const serverLine = server === '' ? '' : `server: ${server}\r\n`;
  const body = `${VERSION_NOT_SUPPORTED}\n`;
  const versionReply =
    `HTTP/1.1 505 HTTP Version Not Supported\r\n${serverLine}content-type: text/plain; charset=utf-8\r\n` +
    `content-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`;
  return function handleUpgradeEntry(req, socket, head) {
    try {
      if (!isSupportedHttp1(req)) {
        socket.on('error', () => socket.destroy());
        socket.end(versionReply);
        return;
      }
      upgrade(req, socket, head);
    } catch (err) {
      report(faults, 'upgrade', err, requestContext, [req]);
      endFaultedSocket(socket, server);
    }
  };
}

/** The steps' view of a plain request: local answers and response headers go through the exchange. */
function stepContext(ex: Exchange, req: EdgeRequest, p: Prepared, headers: string[]): StepContext {
  return {
    req,
    p,
    upgrade: false,
    reply: (status, message, extra) => ex.reply(status, message, extra),
    addResponseHeader: (name, value) => {
      if (ex.extraResponseHeaders === undefined) ex.extraResponseHeaders = [name, value];
      else ex.extraResponseHeaders.push(name, value);
    },
    get upstreamTarget() {
      return ex.upstreamTarget ?? p.path + p.query;
    },
    set upstreamTarget(target: string) {
      ex.upstreamTarget = target;
    },
    headers,
    whenDone: (fn) => (ex.res.closed ? fn() : ex.res.once('close', fn)),
  };
}
