// Request and response header rewriting at the edge: hop-by-hop headers (and every header the
// Connection header names) are dropped, headers with underscores are dropped (they can alias
// dashed names in some backends), and forwarding headers are set by us, trusting the client's
// values only when the peer is a trusted proxy.

import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';

const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authorization',
  'proxy-authenticate',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'http2-settings',
  // Not hop-by-hop, but answered here: the edge sends `100 Continue` itself.
  'expect',
]);

/** Headers a `Connection` token may not remove: the request is already framed and routed by them. */
const PROTECTED = new Set(['host', 'content-length']);

export interface RequestHeaderScan {
  /** End-to-end headers as flat name/value pairs, original spelling. */
  headers: string[];
  host: string | undefined;
  hostCount: number;
  connection: string | undefined;
  upgrade: string | undefined;
  transferEncoding: string | undefined;
  contentLength: string | undefined;
  forwardedFor: string | undefined;
  forwardedProto: string | undefined;
  forwardedHost: string | undefined;
  forwarded: string | undefined;
  requestId: string | undefined;
}

function emptyScan(): RequestHeaderScan {
  return {
    headers: [],
    host: undefined,
    hostCount: 0,
    connection: undefined,
    upgrade: undefined,
    transferEncoding: undefined,
    contentLength: undefined,
    forwardedFor: undefined,
    forwardedProto: undefined,
    forwardedHost: undefined,
    forwarded: undefined,
    requestId: undefined,
  };
}

function take(scan: RequestHeaderScan, name: string, lower: string, value: string): void {
  switch (lower) {
    case 'host':
      scan.hostCount++;
      scan.host ??= value;
      return;
    case 'content-length':
      scan.contentLength = value;
      scan.headers.push(name, value);
      return;
    case 'connection':
      scan.connection = scan.connection === undefined ? value : `${scan.connection}, ${value}`;
      return;
    case 'upgrade':
      scan.upgrade = value;
      return;
    case 'transfer-encoding':
      scan.transferEncoding =
        scan.transferEncoding === undefined ? value : `${scan.transferEncoding}, ${value}`;
      return;
    case 'x-forwarded-for':
      scan.forwardedFor = scan.forwardedFor === undefined ? value : `${scan.forwardedFor}, ${value}`;
      return;
    case 'x-forwarded-proto':
      scan.forwardedProto ??= value;
      return;
    case 'x-forwarded-host':
      scan.forwardedHost ??= value;
      return;
    case 'forwarded':
      scan.forwarded = scan.forwarded === undefined ? value : `${scan.forwarded}, ${value}`;
      return;
    case 'x-request-id':
      scan.requestId ??= value;
      return;
    case 'x-real-ip':
      return;
  }
  if (HOP_BY_HOP.has(lower) || lower.indexOf('_') !== -1) return;
  scan.headers.push(name, value);
}

/** HTTP/1.x: scans `rawHeaders` once, keeping duplicates and spelling. */
export function scanRawHeaders(raw: string[]): RequestHeaderScan {
  const scan = emptyScan();
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i];
    take(scan, name, name.toLowerCase(), raw[i + 1]);
  }
  dropConnectionTokens(scan);
  return scan;
}

/** HTTP/2: pseudo-headers are dropped and `:authority` stands in for Host. */
export function scanH2Headers(headers: IncomingHttpHeaders): RequestHeaderScan {
  const scan = emptyScan();
  for (const name in headers) {
    const value = headers[name];
    if (value === undefined) continue;
    if (name.charCodeAt(0) === 0x3a) {
      if (name === ':authority') {
        scan.hostCount++;
        scan.host = value as string;
      }
      continue;
    }
    if (name === 'host') {
      // `:authority` wins when both are present (RFC 9113 8.3.1).
      if (scan.host === undefined) take(scan, name, name, value as string);
      continue;
    }
    if (Array.isArray(value)) for (const v of value) take(scan, name, name, v);
    else take(scan, name, name, value);
  }
  dropConnectionTokens(scan);
  return scan;
}

function dropConnectionTokens(scan: RequestHeaderScan): void {
  if (scan.connection === undefined) return;
  const tokens = connectionTokens(scan.connection);
  if (tokens.size === 0) return;
  const kept: string[] = [];
  const h = scan.headers;
  for (let i = 0; i < h.length; i += 2) {
    const lower = h[i].toLowerCase();
    if (tokens.has(lower) && !PROTECTED.has(lower)) continue;
    kept.push(h[i], h[i + 1]);
  }
  scan.headers = kept;
  // Forwarding headers named in Connection are ours to set anyway; a client cannot use a token to
  // make the edge drop the values it adds.
}

const NO_TOKENS: ReadonlySet<string> = new Set();

/** Header names listed in a Connection header (`close` and `keep-alive` are options, not names). */
function connectionTokens(value: string): ReadonlySet<string> {
  // Nearly every message says just one of these: skip the split.
  const v = value.length <= 10 ? value.toLowerCase() : '';
  if (v === 'keep-alive' || v === 'close') return NO_TOKENS;
  const tokens = new Set<string>();
  for (const t of value.split(',')) {
    const token = t.trim().toLowerCase();
    if (token !== '' && token !== 'close' && token !== 'keep-alive') tokens.add(token);
  }
  return tokens;
}

export interface ForwardingValues {
  trusted: boolean;
  peer: string;
  client: string;
  proto: 'http' | 'https';
  host: string;
  requestId: string;
}

/** Appends X-Forwarded-*, X-Real-IP and X-Request-Id to the scanned headers. */
export function addForwardingHeaders(scan: RequestHeaderScan, v: ForwardingValues): void {
  const h = scan.headers;
  h.push('host', v.host);
  if (v.trusted) {
    h.push('x-forwarded-for', scan.forwardedFor === undefined ? v.peer : `${scan.forwardedFor}, ${v.peer}`);
    h.push('x-forwarded-proto', scan.forwardedProto ?? v.proto);
    h.push('x-forwarded-host', scan.forwardedHost ?? v.host);
    if (scan.forwarded !== undefined) h.push('forwarded', scan.forwarded);
  } else {
    h.push('x-forwarded-for', v.peer);
    h.push('x-forwarded-proto', v.proto);
    h.push('x-forwarded-host', v.host);
  }
  h.push('x-real-ip', v.client);
  h.push('x-request-id', v.requestId);
}

/**
 * Response headers from the upstream (undici's lower-cased object) without hop-by-hop headers,
 * without those the upstream's Connection header names, and without `Server`: the edge names
 * itself (or nothing), never the backend's software and version.
 */
export function filterResponseHeaders(
  headers: Record<string, string | string[] | undefined>,
): OutgoingHttpHeaders {
  const connection = headers.connection;
  const tokens =
    connection === undefined
      ? NO_TOKENS
      : connectionTokens(Array.isArray(connection) ? connection.join(',') : connection);
  const out: OutgoingHttpHeaders = {};
  for (const name in headers) {
    if (HOP_BY_HOP.has(name) || name === 'server' || (tokens.size > 0 && tokens.has(name))) continue;
    const value = headers[name];
    if (value !== undefined) out[name] = value;
  }
  return out;
}
