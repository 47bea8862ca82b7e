// WebSocket upgrades: routed and split like any request, then tunnelled as raw bytes to one
// endpoint. The upstream's answer (101 or an error) reaches the client unchanged.

import type { IncomingMessage, OutgoingHttpHeaders } from 'node:http';
import { STATUS_CODES } from 'node:http';
import { connect as netConnect, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { connect as tlsConnect } from 'node:tls';
import type { TrustedProxies } from '../edge/trusted-proxies.ts';
import type { BackendRuntime, RouteRuntime, RoutingTable } from '../routing/table.ts';
import type { Upstream, UpstreamRegistry } from '../upstream/registry.ts';
import { addForwardingHeaders } from './headers.ts';
import { isRefusal, prepare } from './prepare.ts';
import { nextRequestId } from './request-id.ts';
import type { Scheme } from './types.ts';
import { classifyUpstreamError, isConnectFailure, statusForUpstreamError } from './upstream-errors.ts';

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
}

export type UpgradeHandler = (req: IncomingMessage, socket: Duplex, head: Buffer) => void;

/** Only WebSocket upgrades are taken over; other Upgrade headers (h2c) are ignored. */
export function isWebSocketUpgrade(req: IncomingMessage): boolean {
  const upgrade = req.headers.upgrade;
  return typeof upgrade === 'string' && upgrade.toLowerCase() === 'websocket' && req.method === 'GET';
}

export function createUpgradeHandler(scheme: Scheme, opts: UpgradeOptions): UpgradeHandler {
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
      rawReply(socket, status, message, extra);
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
    const route = p.route;
    record.route = route;
    if (route === undefined) return refuse(404, 'no route for this host and path');
    if (route.httpsRedirect && p.clientScheme === 'http') {
      const port = opts.httpsRedirectPort === 443 ? '' : `:${opts.httpsRedirectPort}`;
      return refuse(308, 'redirecting to https', { location: `https://${p.host}${port}${p.path}${p.query}` });
    }
    const choice = route.splitter.choose(req.headers);
    const retryAfter = { 'retry-after': String(opts.retryAfterSeconds) };
    if (choice.backend === undefined) return refuse(503, 'no backend has a weight above 0', retryAfter);
    record.backend = choice.backend;
    const upstream = choice.backend.balancer.pick();
    if (upstream === undefined) return refuse(503, 'backend has no ready endpoints', retryAfter);
    record.upstream = upstream;

    record.requestId = p.trusted && p.scan.requestId !== undefined ? p.scan.requestId : nextRequestId();
    addForwardingHeaders(p.scan, {
      trusted: p.trusted,
      peer: p.peer,
      client: p.client,
      proto: p.clientScheme,
      host: p.rawHost,
      requestId: record.requestId,
    });
    const h = p.scan.headers;
    let requestHead = `GET ${p.path}${p.query} HTTP/1.1\r\n`;
    for (let i = 0; i < h.length; i += 2) requestHead += `${h[i]}: ${h[i + 1]}\r\n`;
    requestHead += `connection: upgrade\r\nupgrade: ${p.scan.upgrade ?? 'websocket'}\r\n\r\n`;

    const connectTimeout = route.policy.connectTimeoutMs;
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
    const onTimeout = () =>
      up.destroy(Object.assign(new Error('connect timeout'), { code: 'UND_ERR_CONNECT_TIMEOUT' }));
    up.once('timeout', onTimeout);
    up.once(upstream.protocol === 'https' ? 'secureConnect' : 'connect', () => {
      connected = true;
      up.setTimeout(0);
      up.off('timeout', onTimeout);
      opts.registry.recordSuccess(upstream);
      up.setNoDelay(true);
      up.write(requestHead);
      if (head.length > 0) up.write(head);
      opts.tunnels.add(socket);
      up.once('data', (chunk: Buffer) => {
        const m = /^HTTP\/1\.[01] (\d{3})/.exec(chunk.toString('latin1', 0, 16));
        finish(m ? Number(m[1]) : 502);
      });
      up.pipe(socket);
      socket.pipe(up);
    });
    up.on('error', (err) => {
      if (!connected) {
        const kind = classifyUpstreamError(err);
        opts.onUpstreamError(choice.backend!.key, kind);
        if (isConnectFailure(kind)) opts.registry.recordFailure(upstream);
        refuse(statusForUpstreamError(kind));
        return;
      }
      socket.destroy();
    });
    up.on('close', () => {
      // Before the connection was up, the error handler has already answered the client.
      if (!connected) return;
      socket.destroy();
      finish(502);
    });
    socket.on('close', () => {
      opts.tunnels.delete(socket);
      up.destroy();
    });
  };
}

/** A complete HTTP/1.1 answer written straight to the socket, which is then closed. */
export function rawReply(
  socket: Duplex,
  status: number,
  message?: string,
  extra?: OutgoingHttpHeaders,
): void {
  if (socket.destroyed || !socket.writable) {
    socket.destroy();
    return;
  }
  const body = `${message ?? STATUS_CODES[status] ?? 'Error'}\n`;
  let head = `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}\r\ncontent-type: text/plain; charset=utf-8\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n`;
  for (const [k, v] of Object.entries(extra ?? {})) head += `${k}: ${String(v)}\r\n`;
  socket.end(`${head}\r\n${body}`);
}
