// WebSocket upgrades: routed and split like any request, then tunnelled as raw bytes to one
// endpoint, but only once the endpoint has completed the WebSocket handshake. Any other answer
// is relayed as a plain response and the client connection closed, so a socket becomes a raw
// tunnel only towards a peer that really speaks WebSocket, and no later request on it escapes
// routing and header rewriting.

import { createHash } from 'node:crypto';
import type { ClientRequest, IncomingMessage, OutgoingHttpHeaders } from 'node:http';
import { request as httpRequest, STATUS_CODES } from 'node:http';
import { connect as netConnect, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { connect as tlsConnect } from 'node:tls';
import type { TrustedProxies } from '../edge/trusted-proxies.ts';
import { routeAffinity } from '../policy/affinity.ts';
import { runSteps, type StepContext } from '../policy/index.ts';
import type { BackendRuntime, RouteRuntime, RoutingTable } from '../routing/table.ts';
import type { Upstream, UpstreamRegistry } from '../upstream/registry.ts';
import { addForwardingHeaders, filterResponseHeaders } from './headers.ts';
import { isRefusal, type Prepared, prepare } from './prepare.ts';
import { nextRequestId } from './request-id.ts';
import type { Scheme } from './types.ts';
import {
  classifyUpstreamError,
  isConnectFailure,
  statusForUpstreamError,
  type UpstreamErrorKind,
} from './upstream-errors.ts';

const WEBSOCKET_GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';
/** Largest upstream response head accepted for an upgrade (502 above it). */
const MAX_UPSTREAM_HEAD_BYTES = 16 * 1024;
/** Time a closed-off client gets to read the last answer before its connection is cut. */
const LINGER_MS = 5_000;

export interface UpgradeRecord {
  method: string;
  rawHost: string;
  path: string;
  status: number;
  durationMs: number;
  route: RouteRuntime | undefined;
  backend: BackendRuntime | undefined;
  upstream: Upstream | undefined;
  requestId: string;
  client: string;
  table: RoutingTable | undefined;
}

export interface UpgradeOptions {
  table(): RoutingTable | undefined;
  registry: UpstreamRegistry;
  trustedProxies: TrustedProxies;
  httpsRedirectPort: number;
  retryAfterSeconds: number;
  /** Open tunnels (client sockets), closed last on shutdown. */
  tunnels: Set<Duplex>;
  onUpgrade(record: UpgradeRecord): void;
  onUpstreamError(backend: string, kind: ReturnType<typeof classifyUpstreamError>): void;
  /** The Server header of every answer to an upgrade; '' sends none. Default `sluice`. */
  serverHeader?: string;
}

export type UpgradeHandler = (req: IncomingMessage, socket: Duplex, head: Buffer) => void;

/** Only WebSocket upgrades are taken over; other Upgrade headers (h2c) are ignored. */
export function isWebSocketUpgrade(req: IncomingMessage): boolean {
  const upgrade = req.headers.upgrade;
  return typeof upgrade === 'string' && upgrade.toLowerCase() === 'websocket' && req.method === 'GET';
}

export function createUpgradeHandler(scheme: Scheme, opts: UpgradeOptions): UpgradeHandler {
  const server = opts.serverHeader ?? 'sluice';
  const serverLine = server === '' ? '' : `server: ${server}\r\n`;
  return function handleUpgrade(req, socket, head) {
    const started = performance.now();
    const record: UpgradeRecord = {
      method: req.method ?? '',
      rawHost: '',
      path: '',
      status: 0,
      durationMs: 0,
      route: undefined,
      backend: undefined,
      upstream: undefined,
      requestId: '',
      client: '',
      table: opts.table(),
    };
    const finish = (status: number) => {
      if (record.status !== 0) return;
      record.status = status;
      record.durationMs = performance.now() - started;
      opts.onUpgrade(record);
    };
    const refuse = (status: number, message?: string, extra?: OutgoingHttpHeaders) => {
      rawReply(socket, status, message, extra, serverLine);
      finish(status);
    };
    socket.on('error', () => socket.destroy());

    const table = record.table;
    if (table === undefined) return refuse(503, 'no configuration applied yet');
    const p = prepare(req, scheme, table, opts.trustedProxies);
    if (isRefusal(p)) return refuse(p.status, p.message);
    record.rawHost = p.rawHost;
    record.path = p.path;
    record.client = p.client;
    const key = req.headers['sec-websocket-key'];
    if (!validKey(key)) return refuse(400, 'a WebSocket upgrade needs a valid Sec-WebSocket-Key');
    const version = req.headers['sec-websocket-version'];
    if (typeof version !== 'string' || version.trim() !== '13') {
      return refuse(400, 'a WebSocket upgrade needs Sec-WebSocket-Version: 13', {
        'sec-websocket-version': '13',
      });
    }
    const route = p.route;
    record.route = route;
    if (route === undefined) return refuse(404, 'no route for this host and path');
    if (route.httpsRedirect && p.clientScheme === 'http') {
      const port = opts.httpsRedirectPort === 443 ? '' : `:${opts.httpsRedirectPort}`;
      return refuse(308, 'redirecting to https', { location: `https://${p.host}${port}${p.path}${p.query}` });
    }
    record.requestId = p.trusted && p.scan.requestId !== undefined ? p.scan.requestId : nextRequestId();
    addForwardingHeaders(p.scan, {
      trusted: p.trusted,
      peer: p.peer,
      client: p.client,
      proto: p.clientScheme,
      host: p.rawHost,
      requestId: record.requestId,
    });
    let target = `${p.path}${p.query}`;
    if (route.steps.length > 0) {
      const ctx: StepContext = {
        req,
        p,
        upgrade: true,
        reply: (status, message, extra) => refuse(status, message, extra),
        // A tunnel's 101 carries no added headers.
        addResponseHeader: () => {},
        upstreamTarget: target,
        headers: p.scan.headers,
        whenDone: (fn) => (socket.destroyed ? fn() : socket.once('close', fn)),
      };
      const answered = runSteps(route.steps, ctx);
      if (answered === true) return;
      if (answered !== false) {
        answered.then(
          (done) => {
            if (done || socket.destroyed) return;
            target = ctx.upstreamTarget;
            connectUpstream();
          },
          () => refuse(500),
        );
        return;
      }
      target = ctx.upstreamTarget;
    }
    connectUpstream();

    function connectUpstream() {
      const route = record.route!;
      const prepared = p as Prepared;
      const wsKey = key as string;
      const choice = route.splitter.choose(req.headers);
      const retryAfter = { 'retry-after': String(opts.retryAfterSeconds) };
      if (choice.backend === undefined) return refuse(503, 'no backend has a weight above 0', retryAfter);
      record.backend = choice.backend;
      // Affinity keeps the tunnel on the client's endpoint; a new cookie is not issued on a 101.
      const affinity = route.policy.affinity === undefined ? undefined : routeAffinity(route);
      const upstream =
        affinity !== undefined
          ? affinity.choose(
              choice.backend.balancer,
              choice.backend.key,
              req.headers.cookie,
              prepared.clientScheme === 'https',
            ).upstream
          : choice.backend.balancer.pick();
      if (upstream === undefined) return refuse(503, 'backend has no ready endpoints', retryAfter);
      record.upstream = upstream;

      const connectTimeout = route.policy.connectTimeoutMs;
      const responseTimeout = route.policy.responseTimeoutMs;
      const headers = [
        ...prepared.scan.headers,
        'connection',
        'upgrade',
        'upgrade',
        prepared.scan.upgrade ?? 'websocket',
      ];
      const up: Socket =
        upstream.protocol === 'https'
          ? tlsConnect({
              host: upstream.address,
              port: upstream.port,
              rejectUnauthorized: false,
              ALPNProtocols: ['http/1.1'],
            })
          : netConnect({ host: upstream.address, port: upstream.port });
      up.setTimeout(connectTimeout);
      let connected = false;
      const onConnectTimeout = () =>
        up.destroy(Object.assign(new Error('connect timeout'), { code: 'UND_ERR_CONNECT_TIMEOUT' }));
      up.once('timeout', onConnectTimeout);
      up.on('error', (err) => {
        if (connected) return; // reported through the upstream request below
        const kind = classifyUpstreamError(err);
        opts.onUpstreamError(choice.backend!.key, kind);
        if (isConnectFailure(kind)) opts.registry.recordFailure(upstream);
        refuse(statusForUpstreamError(kind));
      });
      socket.on('close', () => {
        opts.tunnels.delete(socket);
        up.destroy();
      });
      up.once(upstream.protocol === 'https' ? 'secureConnect' : 'connect', () => {
        connected = true;
        up.setTimeout(0);
        up.off('timeout', onConnectTimeout);
        opts.registry.recordSuccess(upstream);
        up.setNoDelay(true);
        if (socket.destroyed) {
          up.destroy();
          return;
        }
        exchange(up, headers, target, wsKey, responseTimeout, {
          tunnel(answer, upHead) {
            // The client's bytes after its request head are WebSocket frames only now.
            socket.write(withServerLine(answer, serverLine));
            if (upHead.length > 0) socket.write(upHead);
            if (head.length > 0) up.write(head);
            opts.tunnels.add(socket);
            up.on('close', () => socket.destroy());
            up.on('error', () => socket.destroy());
            up.pipe(socket);
            socket.pipe(up);
            finish(101);
          },
          relay(res) {
            finish(res.statusCode ?? 502);
            relayResponse(res, socket, up, responseTimeout, serverLine);
          },
          fail(kind) {
            up.destroy();
            if (socket.destroyed) return finish(499);
            opts.onUpstreamError(choice.backend!.key, kind);
            refuse(statusForUpstreamError(kind));
          },
        });
      });
    }
  };
}

/** RFC 6455 4.2.2: the value a server proves it speaks WebSocket with. */
export function webSocketAccept(key: string): string {
  return createHash('sha1').update(`${key}${WEBSOCKET_GUID}`).digest('base64');
}

/** A Sec-WebSocket-Key is the base64 of 16 bytes (RFC 6455 4.1). */
function validKey(value: string | string[] | undefined): value is string {
  return typeof value === 'string' && /^[A-Za-z0-9+/]{21}[AQgw]==$/.test(value);
}

interface ExchangeOutcome {
  /** A valid `101 Switching Protocols`: `answer` is its head, `upHead` what followed it. */
  tunnel(answer: string, upHead: Buffer): void;
  /** Any other final answer, to relay as a plain response. */
  relay(res: IncomingMessage): void;
  /** No usable answer: a 101 that is no WebSocket handshake (`protocol`), an error, a timeout. */
  fail(kind: UpstreamErrorKind): void;
}

/**
 * Sends the upgrade request on the connected socket and parses the answer with Node's HTTP
 * parser: bounded head size, interim responses skipped, bodies framed by the upstream's
 * Content-Length, chunking or close. The whole head must arrive within `timeoutMs`.
 */
function exchange(
  up: Socket,
  headers: string[],
  path: string,
  key: string,
  timeoutMs: number,
  outcome: ExchangeOutcome,
): void {
  let settled = false;
  const settle = (): boolean => {
    if (settled) return false;
    settled = true;
    clearTimeout(timer);
    return true;
  };
  let req: ClientRequest;
  try {
    req = httpRequest({
      method: 'GET',
      path,
      headers,
      setHost: false,
      // With createConnection and no agent, Node uses exactly this socket.
      maxHeaderSize: MAX_UPSTREAM_HEAD_BYTES,
      createConnection: () => up,
    });
  } catch {
    // A header value Node refuses to write; nothing was sent.
    settled = true;
    outcome.fail('other');
    return;
  }
  const timer = setTimeout(() => {
    if (settle()) outcome.fail('response_timeout');
  }, timeoutMs);
  req.on('error', (err) => {
    if (settle()) outcome.fail(classifyUpstreamError(err));
  });
  req.on('upgrade', (res: IncomingMessage, _socket: Duplex, upHead: Buffer) => {
    if (!settle()) return;
    const upgrade = res.headers.upgrade;
    const accept = res.headers['sec-websocket-accept'];
    if (
      typeof upgrade !== 'string' ||
      upgrade.trim().toLowerCase() !== 'websocket' ||
      typeof accept !== 'string' ||
      accept.trim() !== webSocketAccept(key)
    ) {
      outcome.fail('protocol');
      return;
    }
    let answer = `HTTP/1.1 101 ${res.statusMessage || 'Switching Protocols'}\r\n`;
    const raw = res.rawHeaders;
    for (let i = 0; i < raw.length; i += 2) {
      if (raw[i].toLowerCase() !== 'server') answer += `${raw[i]}: ${raw[i + 1]}\r\n`;
    }
    outcome.tunnel(`${answer}\r\n`, upHead);
  });
  req.on('response', (res: IncomingMessage) => {
    if (!settle()) {
      res.destroy();
      return;
    }
    outcome.relay(res);
  });
  req.end();
}

/**
 * A non-101 answer goes to the client as an ordinary response that closes the connection: the
 * socket never becomes a tunnel, so no later request on it can bypass routing.
 */
function relayResponse(
  res: IncomingMessage,
  socket: Duplex,
  up: Socket,
  idleMs: number,
  serverLine: string,
): void {
  const status = res.statusCode ?? 502;
  const out = filterResponseHeaders(res.headersDistinct as Record<string, string[]>);
  let head = `HTTP/1.1 ${status} ${res.statusMessage ?? ''}\r\n${serverLine}`;
  for (const [name, value] of Object.entries(out)) {
    for (const v of Array.isArray(value) ? value : [value]) head += `${name}: ${String(v)}\r\n`;
  }
  // Content-Length (kept) frames the body; without it the close does.
  head += 'connection: close\r\n\r\n';
  // Whatever the client sent after its request head is dropped, never forwarded.
  socket.resume();
  socket.write(head);
  up.setTimeout(idleMs, () => up.destroy());
  res.on('error', () => socket.destroy());
  res.on('aborted', () => socket.destroy());
  res.pipe(socket, { end: false });
  res.on('end', () => {
    up.destroy();
    socket.end();
    lingerThenClose(socket);
  });
}

/** Lets the client read the last bytes before the connection goes, but not for ever. */
function lingerThenClose(socket: Duplex): void {
  const timer = setTimeout(() => socket.destroy(), LINGER_MS);
  timer.unref();
  socket.once('close', () => clearTimeout(timer));
}

/** The upstream's 101 head with our Server line after the status line (the upstream's is dropped). */
function withServerLine(answer: string, serverLine: string): string {
  if (serverLine === '') return answer;
  const eol = answer.indexOf('\r\n') + 2;
  return answer.slice(0, eol) + serverLine + answer.slice(eol);
}

/** A complete HTTP/1.1 answer written straight to the socket, which is then closed. */
export function rawReply(
  socket: Duplex,
  status: number,
  message?: string,
  extra?: OutgoingHttpHeaders,
  serverLine = '',
): void {
  if (socket.destroyed || !socket.writable) {
    socket.destroy();
    return;
  }
  const body = `${message ?? STATUS_CODES[status] ?? 'Error'}\n`;
  let head = `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}\r\n${serverLine}content-type: text/plain; charset=utf-8\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n`;
  for (const [k, v] of Object.entries(extra ?? {})) head += `${k}: ${String(v)}\r\n`;
  // Anything the client sent after its request head is dropped unread.
  socket.resume();
  socket.end(`${head}\r\n${body}`);
  lingerThenClose(socket);
}
