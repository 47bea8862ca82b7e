// Everything decided before a request goes anywhere: header scan, framing checks, target and
// host normalisation, and the route. Shared by plain requests and WebSocket upgrades.

import { normalizeHost, normalizeTarget } from '../../contract/normalize.ts';
import type { TrustedProxies } from '../edge/trusted-proxies.ts';
import { plainAddress } from '../edge/trusted-proxies.ts';
import type { RouteRuntime, RoutingTable } from '../routing/table.ts';
import { type RequestHeaderScan, scanH2Headers, scanRawHeaders } from './headers.ts';
import { isHttp2Request } from './local-reply.ts';
import type { EdgeRequest, Scheme } from './types.ts';

export interface Prepared {
  scan: RequestHeaderScan;
  /** Host as the client sent it (forwarded unchanged) and normalised (matched). */
  rawHost: string;
  host: string;
  path: string;
  query: string;
  route: RouteRuntime | undefined;
  peer: string;
  trusted: boolean;
  /** The original client address, through trusted proxies. */
  client: string;
  /** Scheme the client used: ours, or X-Forwarded-Proto from a trusted proxy. */
  clientScheme: Scheme;
}

export interface Refusal {
  status: number;
  message: string;
  /** Close the connection after answering (framing cannot be trusted). */
  close: boolean;
  /** What is known for logs. */
  rawHost?: string;
  path?: string;
}

const hostCache = new Map<string, string | null>();

function cachedHost(raw: string): string | null {
  let host = hostCache.get(raw);
  if (host === undefined) {
    host = normalizeHost(raw);
    if (hostCache.size >= 4096) hostCache.clear();
    hostCache.set(raw, host);
  }
  return host;
}

export function prepare(
  req: EdgeRequest,
  scheme: Scheme,
  table: RoutingTable,
  trustedProxies: TrustedProxies,
): Prepared | Refusal {
  const h2 = isHttp2Request(req);
  const scan = h2 ? scanH2Headers(req.headers) : scanRawHeaders(req.rawHeaders);
  if (scan.transferEncoding !== undefined && scan.transferEncoding.trim().toLowerCase() !== 'chunked') {
    return { status: 400, message: 'unsupported transfer-encoding', close: true };
  }
  if (scan.transferEncoding !== undefined && scan.contentLength !== undefined) {
    return { status: 400, message: 'content-length with transfer-encoding', close: true };
  }
  if (scan.hostCount !== 1 || scan.host === undefined) {
    return { status: 400, message: 'exactly one Host header is required', close: true };
  }
  const method = req.method;
  if (method === 'TRACE' || method === 'CONNECT') {
    return { status: 405, message: 'method not allowed', close: false };
  }
  const url = req.url;
  const target = normalizeTarget(typeof url === 'string' ? url : '');
  if (!target.ok) return { status: 400, message: target.reason, close: false, rawHost: scan.host };
  // An absolute-form target names the host itself (RFC 9112 3.2.2).
  const rawHost = target.authority ?? scan.host;
  const host = cachedHost(rawHost);
  if (host === null) return { status: 400, message: 'invalid host', close: false, path: target.path };

  const peer = plainAddress(req.socket?.remoteAddress);
  const trusted = trustedProxies.trusts(peer);
  const client = trusted ? trustedProxies.clientFrom(peer, scan.forwardedFor) : peer;
  let clientScheme = scheme;
  if (trusted && scan.forwardedProto !== undefined) {
    const p = scan.forwardedProto.split(',')[0].trim().toLowerCase();
    if (p === 'https' || p === 'http') clientScheme = p;
  }
  return {
    scan,
    rawHost,
    host,
    path: target.path,
    query: target.query,
    route: table.match(host, target.path),
    peer,
    trusted,
    client,
    clientScheme,
  };
}

export function isRefusal(p: Prepared | Refusal): p is Refusal {
  return (p as Refusal).status !== undefined;
}
