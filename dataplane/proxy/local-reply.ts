// Answers the edge produces itself (no upstream involved): short plain-text bodies, and
// `Connection: close` where the rest of the request cannot be trusted or will not be read.

import type { OutgoingHttpHeaders, ServerResponse } from 'node:http';
import { STATUS_CODES } from 'node:http';
import type { EdgeResponse } from './types.ts';

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

export function isHttp2(res: EdgeResponse): boolean {
  return (res as { stream?: unknown }).stream !== undefined;
}
