// Reference point for the proxy benchmark: the barest forwarding Node can do with undici, no
// routing, no header policy, no metrics. Sluice's traffic path is this plus everything an
// ingress needs, so the gap between the two is Sluice's own cost.
// Usage: node undici-dispatch.ts <port> <upstream> [certFile keyFile]
import { readFileSync } from 'node:fs';
import http, { type IncomingMessage, type OutgoingHttpHeaders, type ServerResponse } from 'node:http';
import https from 'node:https';
import { Pool } from 'undici';

const [port, upstream, certFile, keyFile] = process.argv.slice(2);
const pool = new Pool(upstream, { connections: 256, pipelining: 1, keepAliveTimeout: 60_000 });
const HOP = new Set([
  'connection',
  'keep-alive',
  'transfer-encoding',
  'upgrade',
  'te',
  'trailer',
  'proxy-connection',
]);

function handle(req: IncomingMessage, res: ServerResponse): void {
  const headers: string[] = [];
  const raw = req.rawHeaders;
  for (let i = 0; i < raw.length; i += 2)
    if (!HOP.has(raw[i].toLowerCase())) headers.push(raw[i], raw[i + 1]);
  const bodyless =
    req.headers['content-length'] === undefined && req.headers['transfer-encoding'] === undefined;
  pool.dispatch(
    { path: req.url!, method: req.method!, headers, body: bodyless ? null : req },
    {
      onRequestStart() {},
      onResponseStart(_c, status, h) {
        const out: OutgoingHttpHeaders = {};
        for (const k in h) if (!HOP.has(k)) out[k] = h[k];
        res.writeHead(status, out);
      },
      onResponseData(c, chunk) {
        if (!res.write(chunk)) {
          c.pause();
          res.once('drain', () => c.resume());
        }
      },
      onResponseEnd() {
        res.end();
      },
      onResponseError() {
        if (res.headersSent) res.destroy();
        else {
          res.statusCode = 502;
          res.end();
        }
      },
    },
  );
}

const server =
  certFile && keyFile
    ? https.createServer({ cert: readFileSync(certFile), key: readFileSync(keyFile) }, handle)
    : http.createServer(handle);
server.keepAliveTimeout = 75_000;
server.listen(Number(port), '127.0.0.1');
process.on('SIGTERM', () => server.close(() => process.exit(0)));
