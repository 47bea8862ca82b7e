// The request and response shapes the edge handles: HTTP/1.1 from node:http and HTTP/2 (or
// HTTP/1.1 via ALPN) from node:http2's compatibility API.

import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Http2ServerRequest, Http2ServerResponse } from 'node:http2';

export type EdgeRequest = IncomingMessage | Http2ServerRequest;
export type EdgeResponse = ServerResponse | Http2ServerResponse;
export type Scheme = 'http' | 'https';
