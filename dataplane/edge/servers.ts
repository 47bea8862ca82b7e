// The traffic listeners: HTTP/1.1 on one port, TLS with HTTP/2 and HTTP/1.1 (by ALPN) on the
// other. Strict parsing (never the insecure parser), bounded headers, and the timeouts that
// answer 408. Connections are tracked so shutdown can drain them and count them for metrics.
// The handlers given here are the traffic path's entry points; each contains its own faults
// (proxy/contain.ts) and refuses HTTP versions other than 1.0 and 1.1 on HTTP/1 connections.

import http from 'node:http';
import http2 from 'node:http2';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { SecureContext } from 'node:tls';
import type { FaultSink } from '../proxy/contain.ts';
import type { RequestHandler } from '../proxy/handler.ts';
import type { UpgradeHandler } from '../proxy/upgrade.ts';
import { isWebSocketUpgrade } from '../proxy/upgrade.ts';
import { interceptConnections, type Passthrough } from './passthrough.ts';

export interface EdgeLimits {
  /** Largest request head (431 above it). */
  maxHeaderBytes: number;
  /** Time to receive the request head (408). */
  headersTimeoutMs: number;
  /** Time to receive the whole request, body included (408). 0 disables. */
  requestTimeoutMs: number;
  /** Idle time of a kept-alive connection (HTTP/1.1) or session (HTTP/2) before it is closed. */
  keepAliveTimeoutMs: number;
}

export interface EdgeHandlers {
  request: RequestHandler;
  /** `Expect: 100-continue` requests: Node leaves `100 Continue` to this handler. */
  checkContinue: RequestHandler;
  upgrade: UpgradeHandler;
  /** Where a throw while choosing a certificate is reported (the handshake then fails). */
  faults?: FaultSink;
}

export interface TrackedServer<S> {
  server: S;
  /** Open client connections. */
  readonly sockets: Set<Duplex>;
  /** HTTP/2 sessions, for a graceful GOAWAY on shutdown. */
  readonly sessions: Set<http2.ServerHttp2Session>;
}

function httpOptions(limits: EdgeLimits) {
  return {
    maxHeaderSize: limits.maxHeaderBytes,
    headersTimeout: limits.headersTimeoutMs,
    requestTimeout: limits.requestTimeoutMs,
    keepAliveTimeout: limits.keepAliveTimeoutMs,
    // The timeouts above are enforced by a periodic sweep; sweep often enough for them to matter.
    connectionsCheckingInterval: Math.max(100, Math.min(5_000, Math.floor(limits.headersTimeoutMs / 4))),
    requireHostHeader: true,
    insecureHTTPParser: false,
    optimizeEmptyRequests: true,
    noDelay: true,
  };
}

export function createHttpListener(handlers: EdgeHandlers, limits: EdgeLimits): TrackedServer<http.Server> {
  const server = http.createServer(
    { ...httpOptions(limits), shouldUpgradeCallback: isWebSocketUpgrade },
    handlers.request as http.RequestListener,
  );
  // With a listener here Node no longer writes `100 Continue` before the handler has looked at
  // the request. Other Expect values get Node's 417 ('checkExpectation' is left alone).
  server.on('checkContinue', handlers.checkContinue as http.RequestListener);
  server.on('upgrade', handlers.upgrade);
  const tracked: TrackedServer<http.Server> = { server, sockets: new Set(), sessions: new Set() };
  server.on('connection', (socket: Socket) => {
    tracked.sockets.add(socket);
    socket.once('close', () => tracked.sockets.delete(socket));
  });
  return tracked;
}

export function createHttpsListener(
  handlers: EdgeHandlers,
  limits: EdgeLimits,
  tls: {
    /** Served when SNI names no configured host, or no SNI is sent. */
    defaultCert: { certPem: string; keyPem: string };
    sniContext(servername: string): SecureContext | undefined;
    /** TLS passthrough hosts (passthrough.ts); absent: every connection is terminated. */
    passthrough?: Passthrough;
  },
): TrackedServer<http2.Http2SecureServer> {
  const server = http2.createSecureServer(
    {
      allowHTTP1: true,
      http1Options: httpOptions(limits),
      ...httpOptions(limits),
      cert: tls.defaultCert.certPem,
      key: tls.defaultCert.keyPem,
      minVersion: 'TLSv1.2',
      SNICallback(servername, cb) {
        let context: SecureContext | undefined;
        try {
          context = tls.sniContext(servername);
        } catch (err) {
          // A fault in certificate selection fails this handshake, not the process.
          handlers.faults?.fault('request', err, { host: servername.slice(0, 256) });
          cb(err as Error);
          return;
        }
        cb(null, context);
      },
      settings: { maxHeaderListSize: limits.maxHeaderBytes, enablePush: false },
      maxSessionInvalidFrames: 100,
      maxSessionRejectedStreams: 100,
    } as http2.SecureServerOptions,
    handlers.request as (req: http2.Http2ServerRequest, res: http2.Http2ServerResponse) => void,
  );
  // Both for HTTP/2 streams and for the HTTP/1.1 fallback: no automatic `100 Continue`.
  server.on('checkContinue', handlers.checkContinue);
  // Node sets this per instance for the HTTP/1.1 fallback; only WebSockets are taken over.
  (server as unknown as { shouldUpgradeCallback: typeof isWebSocketUpgrade }).shouldUpgradeCallback =
    isWebSocketUpgrade;
  server.on('upgrade', handlers.upgrade);
  const tracked: TrackedServer<http2.Http2SecureServer> = { server, sockets: new Set(), sessions: new Set() };
  server.on('secureConnection', (socket: Duplex) => {
    tracked.sockets.add(socket);
    socket.once('close', () => tracked.sockets.delete(socket));
  });
  server.on('session', (session) => {
    tracked.sessions.add(session);
    session.once('close', () => tracked.sessions.delete(session));
    // An idle session is closed gracefully: streams in progress finish first.
    session.setTimeout(limits.keepAliveTimeoutMs, () => session.close());
  });
  // Bad TLS handshakes are the client's problem; never let them surface as process errors.
  server.on('tlsClientError', () => {});
  if (tls.passthrough !== undefined) {
    interceptConnections(server, tls.passthrough, (socket) => {
      tracked.sockets.add(socket);
      socket.once('close', () => tracked.sockets.delete(socket));
    });
  }
  return tracked;
}
