// The traffic path: one function per request that normalises, routes, redirects, splits,
// balances and forwards. Framework-free on purpose: it runs under node:http and node:http2
// directly, because a proxy parses and writes HTTP twice and every layer above the server costs
// a measurable share of throughput.

import type { Http2ServerRequest } from 'node:http2';
import type { TrustedProxies } from '../edge/trusted-proxies.ts';
import type { RoutingTable } from '../routing/table.ts';
import type { UpstreamRegistry } from '../upstream/registry.ts';
import { limitBody } from './body-limit.ts';
import { Exchange, type ExchangeObserver } from './exchange.ts';
import { addForwardingHeaders } from './headers.ts';
import { localReply } from './local-reply.ts';
import { isRefusal, prepare } from './prepare.ts';
import { nextRequestId } from './request-id.ts';
import type { EdgeRequest, EdgeResponse, Scheme } from './types.ts';

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
}

export type RequestHandler = (req: EdgeRequest, res: EdgeResponse) => void;

export function createRequestHandler(scheme: Scheme, opts: ProxyHandlerOptions): RequestHandler {
  const retryAfter = { 'retry-after': String(opts.retryAfterSeconds) };
  const redirectPort = opts.httpsRedirectPort === 443 ? '' : `:${opts.httpsRedirectPort}`;

  return function handleRequest(req, res) {
    const table = opts.table();
    if (table === undefined) {
      localReply(res, 503, 'no configuration applied yet', retryAfter);
      return;
    }
    const ex = new Exchange(req, res, scheme, table, opts.observer, opts.registry);
    if (opts.draining()) ex.closeAfter = true;

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

    const choice = route.splitter.choose(req.headers);
    if (choice.backend === undefined) {
      ex.reply(503, 'no backend has a weight above 0', retryAfter);
      return;
    }
    ex.backend = choice.backend;
    const upstream = choice.backend.balancer.pick();
    if (upstream === undefined) {
      ex.reply(503, 'backend has no ready endpoints', retryAfter);
      return;
    }
    if (choice.issueCookie !== undefined) {
      const secure = p.clientScheme === 'https' ? '; Secure' : '';
      ex.extraSetCookie = `${choice.issueCookie.name}=${choice.issueCookie.value}; Path=/; HttpOnly; SameSite=Lax${secure}`;
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

    let body: Parameters<Exchange['forward']>[2] = null;
    if (req.httpVersionMajor === 2) {
      if (!(req as Http2ServerRequest).stream.endAfterHeaders) body = limitBody(req, limit);
    } else if (scan.transferEncoding !== undefined) {
      body = limitBody(req, limit);
    } else if (scan.contentLength !== undefined && scan.contentLength !== '0') {
      // node:http's parser already holds the body to exactly content-length bytes.
      body = req;
    }
    ex.forward(upstream, scan.headers, body, route.policy);
  };
}
