// Live backends for the fuzz harness, on 127.0.0.1 ephemeral ports. Each records every request
// it sees (head as received, body size), so the oracle can check that only what the routing
// table allows reached it.

import { createHash } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { Duplex } from 'node:stream';

export interface SeenRequest {
  backend: string;
  method: string;
  url: string;
  rawHeaders: string[];
  bodyBytes: number;
  upgrade: boolean;
  /** Bytes that reached the backend after it answered an upgrade with a non-101 status. */
  tunnelledBytes: number;
}

export type BackendKind = 'plain' | 'slow' | 'websocket' | 'websocket-200';

export interface FuzzBackend {
  name: string;
  port: number;
  close(): Promise<void>;
}

const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';
/** The slow backend's body: 256 KiB in 16 KiB chunks, one every 25 ms. */
export const SLOW_CHUNKS = 16;
const SLOW_CHUNK = Buffer.alloc(16 * 1024, 0x73);

export async function startFuzzBackend(
  name: string,
  kind: BackendKind,
  seen: SeenRequest[],
): Promise<FuzzBackend> {
  const sockets = new Set<Duplex>();
  const timers = new Set<NodeJS.Timeout>();
  const server = http.createServer((req, res) => {
    const record: SeenRequest = {
      backend: name,
      method: req.method ?? '',
      url: req.url ?? '',
      rawHeaders: req.rawHeaders,
      bodyBytes: 0,
      upgrade: false,
      tunnelledBytes: 0,
    };
    seen.push(record);
    req.on('data', (c: Buffer) => (record.bodyBytes += c.length));
    req.on('error', () => {});
    res.on('error', () => {});
    req.on('end', () => {
      res.setHeader('x-backend', name);
      if (kind !== 'slow') {
        res.end(name);
        return;
      }
      res.writeHead(200, { 'content-length': SLOW_CHUNKS * SLOW_CHUNK.length });
      let sent = 0;
      const timer = setInterval(() => {
        if (res.destroyed || sent === SLOW_CHUNKS) {
          clearInterval(timer);
          timers.delete(timer);
          if (!res.destroyed) res.end();
          return;
        }
        res.write(SLOW_CHUNK);
        sent++;
      }, 25);
      timers.add(timer);
    });
  });
  server.on('upgrade', (req: http.IncomingMessage, socket: Duplex, head: Buffer) => {
    const record: SeenRequest = {
      backend: name,
      method: req.method ?? '',
      url: req.url ?? '',
      rawHeaders: req.rawHeaders,
      bodyBytes: 0,
      upgrade: true,
      tunnelledBytes: 0,
    };
    seen.push(record);
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => socket.destroy());
    if (kind === 'websocket') {
      const accept = createHash('sha1').update(`${req.headers['sec-websocket-key']}${GUID}`).digest('base64');
      socket.write(
        `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`,
      );
      if (head.length > 0) socket.write(head);
      socket.on('data', (d: Buffer) => socket.write(d)); // raw echo
      return;
    }
    // A backend that does not speak WebSocket but answers the request: whatever arrives after
    // this complete answer was tunnelled by the proxy although no protocol switch happened.
    record.tunnelledBytes += head.length;
    socket.write(`HTTP/1.1 200 OK\r\nx-backend: ${name}\r\ncontent-length: ${name.length}\r\n\r\n${name}`);
    socket.on('data', (d: Buffer) => (record.tunnelledBytes += d.length));
    const timer = setTimeout(() => socket.destroy(), 2_000);
    timers.add(timer);
    socket.on('close', () => {
      clearTimeout(timer);
      timers.delete(timer);
    });
  });
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  return {
    name,
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        for (const t of timers) clearInterval(t);
        for (const s of sockets) s.destroy();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
