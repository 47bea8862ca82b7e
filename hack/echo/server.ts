// Echo backend for tests and the demo (image sluice.dev/echo:dev in hack/images.json): answers
// every request with JSON that names the pod, its version text and what it received, and echoes
// WebSocket messages. Configured by environment only:
//
//   ECHO_PORT            listen port (8080)
//   ECHO_TEXT            version text in every answer ("echo"); ECHO_TEXT_FILE reads it per request
//   POD_NAME, POD_NAMESPACE  who is answering (set them from the downward API)
//   ECHO_READY=false     GET /ready answers 503; so does an existing ECHO_NOT_READY_FILE
//   ECHO_DRAIN_MS        after SIGTERM keep serving this long (with /ready failing), then exit
//
// GET /healthz is always 200 while the process runs; GET /status/<code> answers with that code.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';

export interface EchoOptions {
  port: number;
  text: string;
  textFile?: string;
  pod: string;
  namespace: string;
  ready: boolean;
  notReadyFile?: string;
  drainMs: number;
}

export function optionsFromEnv(env: NodeJS.ProcessEnv): EchoOptions {
  const int = (name: string, def: number, max: number): number => {
    const raw = env[name];
    if (raw === undefined || raw === '') return def;
    const n = Number(raw);
    if (!Number.isInteger(n) || n < 0 || n > max)
      throw new Error(`${name} must be an integer 0..${max}, got "${raw}"`);
    return n;
  };
  return {
    port: int('ECHO_PORT', 8080, 65535),
    text: env.ECHO_TEXT ?? 'echo',
    textFile: env.ECHO_TEXT_FILE || undefined,
    pod: env.POD_NAME ?? env.HOSTNAME ?? 'unknown',
    namespace: env.POD_NAMESPACE ?? '',
    ready: env.ECHO_READY !== 'false',
    notReadyFile: env.ECHO_NOT_READY_FILE || undefined,
    drainMs: int('ECHO_DRAIN_MS', 0, 600_000),
  };
}

// Credentials are never echoed back.
const redacted = new Set(['authorization', 'proxy-authorization']);
const maxFrame = 1 << 20;

export interface Echo {
  server: Server;
  /** Starts draining: /ready fails from now on. */
  drain(): void;
}

export function build(opts: EchoOptions): Echo {
  let draining = false;
  const text = (): string => {
    if (!opts.textFile) return opts.text;
    try {
      return readFileSync(opts.textFile, 'utf8').trim();
    } catch {
      return opts.text;
    }
  };
  const ready = (): boolean =>
    opts.ready && !draining && !(opts.notReadyFile !== undefined && existsSync(opts.notReadyFile));

  const send = (res: ServerResponse, status: number, body: unknown): void => {
    const json = `${JSON.stringify(body)}\n`;
    res.writeHead(status, {
      'content-type': 'application/json',
      'content-length': Buffer.byteLength(json),
      'x-echo-pod': opts.pod,
    });
    res.end(json);
  };

  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    let bodyBytes = 0;
    req.on('data', (chunk: Buffer) => {
      bodyBytes += chunk.length;
    });
    req.on('error', () => res.destroy());
    req.on('end', () => {
      const path = req.url ?? '/';
      const pathname = path.split('?')[0];
      if (pathname === '/healthz') return send(res, 200, { ok: true, pod: opts.pod });
      if (pathname === '/ready') {
        const ok = ready();
        return send(res, ok ? 200 : 503, { ready: ok, pod: opts.pod });
      }
      const m = /^\/status\/([1-5]\d\d)$/.exec(pathname);
      const status = m && Number(m[1]) >= 200 ? Number(m[1]) : 200;
      const headers: Record<string, string | string[]> = {};
      for (const [k, v] of Object.entries(req.headers)) {
        if (v !== undefined) headers[k] = redacted.has(k) ? '<redacted>' : v;
      }
      send(res, status, {
        pod: opts.pod,
        namespace: opts.namespace,
        text: text(),
        method: req.method,
        host: req.headers.host ?? '',
        path,
        headers,
        bodyBytes,
        remoteAddress: req.socket.remoteAddress,
      });
    });
  });
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    webSocketEcho(req, socket, head, opts.pod);
  });
  server.on('clientError', (_err, socket) => {
    if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nconnection: close\r\n\r\n');
  });
  return {
    server,
    drain: () => {
      draining = true;
    },
  };
}

// A minimal RFC 6455 echo: every data frame comes back unchanged (same opcode and FIN bit),
// pings get pongs, close is answered and ends the connection.
function webSocketEcho(req: IncomingMessage, socket: Duplex, head: Buffer, pod: string): void {
  const key = req.headers['sec-websocket-key'];
  if ((req.headers.upgrade ?? '').toLowerCase() !== 'websocket' || typeof key !== 'string') {
    socket.end('HTTP/1.1 400 Bad Request\r\nconnection: close\r\n\r\n');
    return;
  }
  const accept = createHash('sha1').update(`${key}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest('base64');
  socket.write(
    'HTTP/1.1 101 Switching Protocols\r\nupgrade: websocket\r\nconnection: Upgrade\r\n' +
      `sec-websocket-accept: ${accept}\r\nx-echo-pod: ${pod}\r\n\r\n`,
  );
  let buf = head;
  const frame = (fin: boolean, opcode: number, payload: Buffer): Buffer => {
    const len = payload.length;
    const hdr = len < 126 ? Buffer.alloc(2) : len < 65536 ? Buffer.alloc(4) : Buffer.alloc(10);
    hdr[0] = (fin ? 0x80 : 0) | opcode;
    if (len < 126) hdr[1] = len;
    else if (len < 65536) {
      hdr[1] = 126;
      hdr.writeUInt16BE(len, 2);
    } else {
      hdr[1] = 127;
      hdr.writeBigUInt64BE(BigInt(len), 2);
    }
    return Buffer.concat([hdr, payload]);
  };
  const close = (code: number): void => {
    const p = Buffer.alloc(2);
    p.writeUInt16BE(code);
    socket.end(frame(true, 0x8, p));
  };
  socket.on('error', () => socket.destroy());
  socket.on('data', (chunk: Buffer) => {
    buf = Buffer.concat([buf, chunk]);
    for (;;) {
      if (buf.length < 2) return;
      const fin = (buf[0] & 0x80) !== 0;
      const opcode = buf[0] & 0x0f;
      const masked = (buf[1] & 0x80) !== 0;
      let len = buf[1] & 0x7f;
      let off = 2;
      if (len === 126) {
        if (buf.length < 4) return;
        len = buf.readUInt16BE(2);
        off = 4;
      } else if (len === 127) {
        if (buf.length < 10) return;
        const big = buf.readBigUInt64BE(2);
        if (big > BigInt(maxFrame)) return close(1009);
        len = Number(big);
        off = 10;
      }
      if (len > maxFrame) return close(1009);
      const need = off + (masked ? 4 : 0) + len;
      if (buf.length < need) return;
      const payload = Buffer.from(buf.subarray(need - len, need));
      if (masked) {
        const mask = buf.subarray(off, off + 4);
        for (let i = 0; i < payload.length; i++) payload[i] ^= mask[i & 3];
      }
      buf = buf.subarray(need);
      if (opcode === 0x8) {
        socket.end(frame(true, 0x8, payload));
        return;
      }
      if (opcode === 0x9) socket.write(frame(true, 0xa, payload));
      else if (opcode <= 0x2) socket.write(frame(fin, opcode, payload));
    }
  });
}

if (import.meta.main) {
  let opts: EchoOptions;
  try {
    opts = optionsFromEnv(process.env);
  } catch (err) {
    console.error(`echo: ${err instanceof Error ? err.message : err}`);
    process.exit(2);
  }
  const { server, drain } = build(opts);
  server.listen(opts.port, () => {
    console.log(`echo: ${opts.pod} serving "${opts.text}" on port ${opts.port}`);
  });
  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    drain();
    console.log(`echo: ${signal}, draining for ${opts.drainMs} ms`);
    setTimeout(() => {
      server.close(() => process.exit(0));
      server.closeIdleConnections();
      // Connections still busy after a second are cut.
      setTimeout(() => {
        server.closeAllConnections();
        process.exit(0);
      }, 1000).unref();
    }, opts.drainMs);
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}
