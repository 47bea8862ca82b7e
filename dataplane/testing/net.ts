// Real sockets for data-plane tests: backends on 127.0.0.1 ephemeral ports, raw HTTP exchanges,
// and a data plane on ephemeral ports. Everything registers its own cleanup with the test.

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { type AddressInfo, connect, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { connect as tlsConnect } from 'node:tls';
import pino from 'pino';
import type { DataplaneConfig } from '../../contract/types.ts';
import { loadConfig } from '../options.ts';
import { buildDataplane, type RunningDataplane } from '../start.ts';

export interface TestBackend {
  port: number;
  server: http.Server;
  /** Requests seen, newest last. */
  seen: Array<{ method: string; url: string; headers: http.IncomingHttpHeaders; body: string }>;
}

/** A backend answering with its `name` (header `x-backend`) unless `handler` is given. */
export async function startBackend(
  t: TestContext,
  name: string,
  handler?: (req: http.IncomingMessage, res: http.ServerResponse, body: string) => void,
): Promise<TestBackend> {
  const seen: TestBackend['seen'] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString();
      seen.push({ method: req.method!, url: req.url!, headers: req.headers, body });
      if (handler) return handler(req, res, body);
      res.setHeader('x-backend', name);
      res.end(name);
    });
  });
  const sockets = new Set<Socket>();
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await listen(server);
  t.after(() => closeServer(server, sockets));
  return { port: (server.address() as AddressInfo).port, server, seen };
}

export function listen(server: Server, host = '127.0.0.1'): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, host, () => resolve());
  });
}

export function closeServer(server: Server, sockets?: Set<Socket>): Promise<void> {
  return new Promise((resolve) => {
    for (const s of sockets ?? []) s.destroy();
    (server as http.Server).closeAllConnections?.();
    server.close(() => resolve());
  });
}

/** A port nothing listens on (bound, then released). */
export async function closedPort(): Promise<number> {
  const server = http.createServer();
  await listen(server);
  const port = (server.address() as AddressInfo).port;
  await closeServer(server);
  return port;
}

export interface RawExchangeOptions {
  /** How long without data ends the exchange (default 1 s). */
  idleMs?: number;
  /**
   * Over TLS to this server name (the certificate is not checked), offering HTTP/1.1 by ALPN
   * unless `alpn` says otherwise: the bytes are HTTP/1 text.
   */
  tls?: { servername: string; alpn?: string[] };
}

/**
 * Writes raw bytes and collects everything the server sends until it closes the connection or
 * `idleMs` passes without data. A number for `opts` is `idleMs`.
 */
export function rawExchange(
  port: number,
  bytes: string | Buffer,
  opts: number | RawExchangeOptions = {},
): Promise<{ text: string; closed: boolean }> {
  const { idleMs = 1_000, tls } = typeof opts === 'number' ? { idleMs: opts } : opts;
  return new Promise((resolve) => {
    const socket = tls
      ? tlsConnect({
          host: '127.0.0.1',
          port,
          servername: tls.servername,
          rejectUnauthorized: false,
          ALPNProtocols: tls.alpn ?? ['http/1.1'],
        })
      : connect(port, '127.0.0.1');
    let text = '';
    let timer: NodeJS.Timeout | undefined;
    const done = (closed: boolean) => {
      clearTimeout(timer);
      socket.destroy();
      resolve({ text, closed });
    };
    const arm = () => {
      clearTimeout(timer);
      timer = setTimeout(() => done(false), idleMs);
    };
    socket.on(tls ? 'secureConnect' : 'connect', () => {
      socket.write(bytes);
      arm();
    });
    socket.on('data', (d) => {
      text += d.toString('latin1');
      arm();
    });
    socket.on('error', () => {});
    socket.on('close', () => done(true));
  });
}

export interface HttpResult {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** One HTTP/1.1 request with any Host header (fetch cannot set Host). */
export function request(
  port: number,
  opts: {
    path?: string;
    host?: string;
    method?: string;
    headers?: http.OutgoingHttpHeaders;
    body?: string | Buffer;
    agent?: http.Agent;
  } = {},
): Promise<HttpResult> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: '127.0.0.1',
        port,
        path: opts.path ?? '/',
        method: opts.method ?? 'GET',
        headers: { host: opts.host ?? 'app.example', ...opts.headers },
        agent: opts.agent ?? false,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks).toString() }),
        );
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(opts.body);
  });
}

export interface TestDataplane extends RunningDataplane {
  token: string;
  /** PUT a config; resolves to the status code and JSON answer. */
  push(config: DataplaneConfig | unknown): Promise<{ status: number; body: Record<string, unknown> }>;
  dir: string;
}

/**
 * Flags of a data plane that listens only on loopback, on ephemeral ports (it logs them), takes
 * configs with the token in `tokenFile`, and writes no access log.
 */
export function loopbackFlags(tokenFile: string, opts: { drainTimeout?: string } = {}): string[] {
  return [
    `--config-token-file=${tokenFile}`,
    '--address=127.0.0.1',
    '--config-address=127.0.0.1',
    '--ops-address=127.0.0.1',
    '--http-port=0',
    '--https-port=0',
    '--config-port=0',
    '--ops-port=0',
    '--access-log=false',
    `--drain-timeout=${opts.drainTimeout ?? '2s'}`,
  ];
}

/** A data plane on ephemeral loopback ports, drained when the test ends. */
export async function startTestDataplane(t: TestContext, flags: string[] = []): Promise<TestDataplane> {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-dp-'));
  const token = 'test-token-0123456789';
  writeFileSync(join(dir, 'token'), token);
  const options = loadConfig([...loopbackFlags(join(dir, 'token')), ...flags]);
  const dp = await buildDataplane(options, { processMetrics: false, log: silentLogger() }).start();
  t.after(async () => {
    await dp.drain();
    rmSync(dir, { recursive: true, force: true });
  });
  return Object.assign(dp, {
    token,
    dir,
    async push(config: unknown) {
      const res = await fetch(`http://127.0.0.1:${dp.ports.config}/v1/config`, {
        method: 'PUT',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify(config),
      });
      return { status: res.status, body: (await res.json()) as Record<string, unknown> };
    },
  });
}

function silentLogger() {
  return pino({ level: 'silent' });
}
