// Answers the edge produces itself (no upstream involved): short plain-text bodies, and
// `Connection: close` where the rest of the request cannot be trusted or will not be read.

import type { OutgoingHttpHeaders, ServerResponse } from 'node:http';
import { STATUS_CODES } from 'node:http';
import { Http2ServerRequest } from 'node:http2';
import type { EdgeRequest, EdgeResponse } from './types.ts';

export function localReply(
  res: EdgeResponse,
  status: number,
  message?: string,
  extra?: OutgoingHttpHeaders,
  close = false,
): void {
  if (res.headersSent || res.destroyed) {
    res.destroy();
    return;
  }
  const body = `${message ?? STATUS_CODES[status] ?? 'Error'}\n`;
  const headers: OutgoingHttpHeaders = {
    'content-type': 'text/plain; charset=utf-8',
    'content-length': Buffer.byteLength(body),
    ...extra,
  };
  // HTTP/2 has no Connection header; closing the stream is enough there.
  if (close && !isHttp2(res)) headers.connection = 'close';
  (res as ServerResponse).writeHead(status, headers);
  res.end(body);
}

/**
 * An HTTP/2 request is one node:http2 made from a stream. The version a client writes on an
 * HTTP/1 request line (`HTTP/2.0` parses) says nothing about the connection it came on.
 */
export function isHttp2Request(req: EdgeRequest): req is Http2ServerRequest {
  return req instanceof Http2ServerRequest;
}

export function isHttp2(res: EdgeResponse): boolean {
  return (res as { stream?: unknown }).stream !== undefined;
}
