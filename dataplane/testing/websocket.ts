// A minimal WebSocket echo backend (RFC 6455 handshake, unfragmented frames) for upgrade tests.
// `answer` replaces the handshake with any raw bytes (a wrong accept key, a huge head, nothing),
// and `received` keeps what arrives after it, to show what a client could get through.

import { createHash } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { TestContext } from 'node:test';
import { closeServer, listen } from './net.ts';

const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';

export async function startWebSocketEcho(
  t: TestContext,
  opts: { answer?: (key: string) => string } = {},
): Promise<{ port: number; upgrades: http.IncomingHttpHeaders[]; received: Buffer[] }> {
  const upgrades: http.IncomingHttpHeaders[] = [];
  const received: Buffer[] = [];
  const server = http.createServer((_req, res) => {
    res.statusCode = 426;
    res.end();
  });
  const sockets = new Set<Duplex>();
  server.on('upgrade', (req, socket: Duplex) => {
    upgrades.push(req.headers);
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => socket.destroy());
    const answer = opts.answer;
    if (answer !== undefined) {
      const text = answer(String(req.headers['sec-websocket-key']));
      if (text !== '') socket.write(text);
      socket.on('data', (chunk: Buffer) => received.push(chunk));
      return;
    }
    const accept = createHash('sha1').update(`${req.headers['sec-websocket-key']}${GUID}`).digest('base64');
    socket.write(
      `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`,
    );
    let buf = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      for (;;) {
        const frame = readFrame(buf);
        if (frame === undefined) return;
        buf = buf.subarray(frame.length);
        if (frame.opcode === 0x8) {
          socket.end(Buffer.from([0x88, 0x00]));
          return;
        }
        if (frame.opcode === 0x1 || frame.opcode === 0x2)
          socket.write(encodeFrame(frame.opcode, frame.payload));
      }
    });
  });
  const conns = new Set<Socket>();
  server.on('connection', (s) => {
    conns.add(s);
    s.on('close', () => conns.delete(s));
  });
  await listen(server);
  t.after(() => {
    for (const s of sockets) s.destroy();
    return closeServer(server, conns);
  });
  return { port: (server.address() as AddressInfo).port, upgrades, received };
}

function readFrame(buf: Buffer): { opcode: number; payload: Buffer; length: number } | undefined {
  if (buf.length < 2) return undefined;
  const opcode = buf[0] & 0x0f;
  const masked = (buf[1] & 0x80) !== 0;
  let len = buf[1] & 0x7f;
  let at = 2;
  if (len === 126) {
    if (buf.length < 4) return undefined;
    len = buf.readUInt16BE(2);
    at = 4;
  } else if (len === 127) {
    if (buf.length < 10) return undefined;
    len = Number(buf.readBigUInt64BE(2));
    at = 10;
  }
  const maskAt = at;
  if (masked) at += 4;
  if (buf.length < at + len) return undefined;
  const payload = Buffer.from(buf.subarray(at, at + len));
  if (masked) for (let i = 0; i < len; i++) payload[i] ^= buf[maskAt + (i % 4)];
  return { opcode, payload, length: at + len };
}

function encodeFrame(opcode: number, payload: Buffer): Buffer {
  const len = payload.length;
  const head =
    len < 126 ? Buffer.from([0x80 | opcode, len]) : Buffer.from([0x80 | opcode, 126, len >> 8, len & 0xff]);
  return Buffer.concat([head, payload]);
}
