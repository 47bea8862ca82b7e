// Fault containment on the traffic path. Every place where Node or undici calls into Sluice code
// for one request (request handler, 'checkContinue', upgrade, undici dispatch callbacks) catches
// what that code throws: the fault ends that one request or stream, is logged and counted, and the
// process keeps serving everyone else. Policy: docs/dataplane.md, "Fault policy".

import type { Duplex } from 'node:stream';
import type { EdgeResponse } from './types.ts';

/** Where a fault happened: handling the request, a WebSocket upgrade, or relaying the response. */
export type FaultStage = 'request' | 'upgrade' | 'response';

/** What is known about the request, for the log line. Never user text in a format string. */
export interface FaultContext {
  requestId?: string;
  method?: string;
  host?: string;
  path?: string;
}

export interface FaultSink {
  fault(stage: FaultStage, err: unknown, ctx?: FaultContext): void;
}

/** Reports faults nowhere; for tests and tools that build handlers without a process log. */
export const silentFaults: FaultSink = { fault() {} };

/**
 * Ends a response whose handling threw: `500` with `Connection: close` when nothing was sent yet,
 * else the response (HTTP/1.1: its connection; HTTP/2: its stream) is destroyed, because a
 * half-written answer cannot be completed honestly. Never throws.
 */
export function endFaulted(res: EdgeResponse, serverHeader = ''): void {
  try {
    if (res.headersSent || res.destroyed || res.writableEnded) {
      res.destroy();
      return;
    }
    const body = 'internal error\n';
    const headers: Record<string, string | number> = {
      'content-type': 'text/plain; charset=utf-8',
      'content-length': Buffer.byteLength(body),
    };
    if (serverHeader !== '') headers.server = serverHeader;
    // HTTP/2 has no Connection header; the stream ends with the response.
    if ((res as { stream?: unknown }).stream === undefined) headers.connection = 'close';
    // Headers set earlier (possibly the faulty ones) must not ride along on the 500.
    for (const name of res.getHeaderNames()) res.removeHeader(name);
    (res as import('node:http').ServerResponse).writeHead(500, headers);
    res.end(body);
  } catch {
    destroyQuietly(res);
  }
}

/** The same for a raw socket (upgrades): `500` if it can still be written to, then closed. */
export function endFaultedSocket(socket: Duplex, serverHeader = ''): void {
  try {
    if (socket.destroyed || !socket.writable) {
      socket.destroy();
      return;
    }
    const body = 'internal error\n';
    const server = serverHeader === '' ? '' : `server: ${serverHeader}\r\n`;
    socket.end(
      `HTTP/1.1 500 Internal Server Error\r\n${server}content-type: text/plain; charset=utf-8\r\ncontent-length: ${body.length}\r\nconnection: close\r\n\r\n${body}`,
    );
  } catch {
    destroyQuietly(socket);
  }
}

/**
 * Wraps a callback so a throw is reported to `sink` under `stage` and handed to `end` (which
 * finishes the request, e.g. with `endFaulted`) instead of reaching Node's event loop.
 * `context` describes the call for the log; both it and `end` are themselves guarded.
 */
export function contain<A extends unknown[]>(
  sink: FaultSink,
  stage: FaultStage,
  fn: (...args: A) => void,
  end: (...args: A) => void,
  context?: (...args: A) => FaultContext,
): (...args: A) => void {
  return (...args: A) => {
    try {
      fn(...args);
    } catch (err) {
      report(sink, stage, err, context, args);
      try {
        end(...args);
      } catch (err2) {
        report(sink, stage, err2, undefined, args);
      }
    }
  };
}

/** Reports to the sink without ever throwing (a broken sink must not undo the containment). */
export function report<A extends unknown[]>(
  sink: FaultSink,
  stage: FaultStage,
  err: unknown,
  context: ((...args: A) => FaultContext) | undefined,
  args: A,
): void {
  let ctx: FaultContext | undefined;
  try {
    ctx = context?.(...args);
  } catch {
    ctx = undefined;
  }
  try {
    sink.fault(stage, err, ctx);
  } catch {
    // Nothing better to do: the request is still ended by the caller.
  }
}

/** Context from a request object, as far as it is known and safe to read. */
export function requestContext(req: {
  method?: string;
  url?: string;
  headers?: Record<string, unknown>;
}): FaultContext {
  const host = req.headers?.host ?? req.headers?.[':authority'];
  return {
    method: typeof req.method === 'string' ? req.method : undefined,
    host: typeof host === 'string' ? host.slice(0, 256) : undefined,
    path: typeof req.url === 'string' ? req.url.split('?', 1)[0].slice(0, 1024) : undefined,
  };
}

function destroyQuietly(stream: { destroy(): unknown }): void {
  try {
    stream.destroy();
  } catch {
    // Already torn down.
  }
}
