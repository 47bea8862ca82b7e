// TLS passthrough on the TLS listener: while the config has passthrough hosts, each connection's
// ClientHello is read first (bounded size and time; a malformed hello closes the connection). A
// hello naming a passthrough host is not terminated: its bytes, hello included, are piped to an
// endpoint of the host's backend. Every other connection (other names, no SNI) is handed, bytes
// untouched, to the TLS server. Without passthrough hosts nothing is read: connections go
// straight to TLS.

import net, { type Socket } from 'node:net';
import type tls from 'node:tls';
import { MAX_HELLO_BYTES, readClientHello } from './client-hello.ts';

export interface PassthroughTarget {
  /** The passthrough host, for logs and metrics. */
  host: string;
  /** Undefined when the backend has no endpoint: the connection is closed. */
  endpoint: { address: string; port: number } | undefined;
}

export type PassthroughOutcome = 'piped' | 'no-endpoint' | 'connect-failed' | 'bad-hello' | 'hello-timeout';

export interface Passthrough {
  /** Whether the current config has passthrough hosts (only then are hellos read). */
  active(): boolean;
  /** The target of a server name, undefined when it is not a passthrough host. */
  target(serverName: string): PassthroughTarget | undefined;
  /** Time for the client to send its whole hello. */
  helloTimeoutMs: number;
  /** Time to connect to the endpoint. */
  connectTimeoutMs: number;
  /** Each passthrough connection or refused hello, once, when it ends (metrics, access log). */
  done?(event: { host?: string; outcome: PassthroughOutcome; bytesIn: number; bytesOut: number }): void;
}

/**
 * Puts the passthrough choice in front of the TLS server's own connection handling. `track`
 * registers a piped client socket, so shutdown can close it.
 */
export function interceptConnections(
  server: tls.Server,
  pass: Passthrough,
  track: (s: Socket) => void,
): void {
  // The TLS server's handshake starts in its 'connection' listener: keep it, call it ourselves.
  const tlsListeners = server.listeners('connection') as Array<(socket: Socket) => void>;
  server.removeAllListeners('connection');
  const toTls = (socket: Socket) => {
    for (const listener of tlsListeners) listener.call(server, socket);
  };
  server.on('connection', (socket: Socket) => {
    if (!pass.active()) {
      toTls(socket);
      return;
    }
    peek(socket, pass, toTls, track);
  });
}

function peek(socket: Socket, pass: Passthrough, toTls: (s: Socket) => void, track: (s: Socket) => void) {
  let data: Buffer = Buffer.alloc(0);
  const finish = () => {
    clearTimeout(timer);
    socket.off('data', onData);
    socket.off('error', onError);
    socket.off('end', onEnd);
  };
  const refuse = (outcome: PassthroughOutcome) => {
    finish();
    socket.destroy();
    pass.done?.({ outcome, bytesIn: data.length, bytesOut: 0 });
  };
  const onError = () => refuse('bad-hello');
  const onEnd = () => refuse('bad-hello');
  const timer = setTimeout(() => refuse('hello-timeout'), pass.helloTimeoutMs);
  const onData = (chunk: Buffer) => {
    data = data.length === 0 ? chunk : Buffer.concat([data, chunk]);
    if (data.length > MAX_HELLO_BYTES + 16_384) return refuse('bad-hello');
    const hello = readClientHello(data);
    if (hello.status === 'more') return;
    if (hello.status === 'bad') return refuse('bad-hello');
    finish();
    socket.pause();
    const target = hello.serverName !== undefined ? pass.target(hello.serverName) : undefined;
    if (target === undefined) {
      // Not ours: the TLS server reads the same bytes as if nothing had been read.
      socket.unshift(data);
      toTls(socket);
      return;
    }
    track(socket);
    pipe(socket, data, target, pass);
  };
  socket.on('data', onData);
  socket.on('error', onError);
  socket.on('end', onEnd);
}

function pipe(client: Socket, hello: Buffer, target: PassthroughTarget, pass: Passthrough) {
  let reported = false;
  let bytesIn = hello.length;
  let bytesOut = 0;
  const report = (outcome: PassthroughOutcome) => {
    if (reported) return;
    reported = true;
    pass.done?.({ host: target.host, outcome, bytesIn, bytesOut });
  };
  if (target.endpoint === undefined) {
    client.destroy();
    report('no-endpoint');
    return;
  }
  const upstream = net.connect({ host: target.endpoint.address, port: target.endpoint.port, noDelay: true });
  let connected = false;
  const timer = setTimeout(() => {
    if (!connected) closeBoth();
  }, pass.connectTimeoutMs);
  // One side closing or failing closes the other: a half-dead pair is never left behind.
  const closeBoth = () => {
    clearTimeout(timer);
    client.destroy();
    upstream.destroy();
    report(connected ? 'piped' : 'connect-failed');
  };
  client.on('error', closeBoth);
  upstream.on('error', closeBoth);
  client.on('close', closeBoth);
  upstream.on('close', closeBoth);
  upstream.once('connect', () => {
    connected = true;
    clearTimeout(timer);
    // Counting listeners only now: a 'data' listener would start the paused client flowing.
    client.on('data', (chunk: Buffer) => {
      bytesIn += chunk.length;
    });
    upstream.on('data', (chunk: Buffer) => {
      bytesOut += chunk.length;
    });
    upstream.write(hello);
    client.pipe(upstream);
    upstream.pipe(client);
    client.resume();
  });
}
