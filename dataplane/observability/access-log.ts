// Access logs as JSON lines through pino. The query string is left out: it often carries tokens.

import pino, { type DestinationStream, type Logger } from 'pino';
import type { Exchange } from '../proxy/exchange.ts';

export function createLogger(opts: { level?: string; destination?: DestinationStream }): Logger {
  return pino(
    {
      level: opts.level ?? 'info',
      base: null,
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    opts.destination ?? pino.destination({ dest: 1, sync: false }),
  );
}

export function accessLogEntry(ex: Exchange, durationMs: number): Record<string, unknown> {
  const route = ex.route;
  const req = ex.req;
  return {
    requestId: ex.requestId || undefined,
    client: ex.client || undefined,
    method: req.method,
    scheme: ex.scheme,
    protocol: `HTTP/${req.httpVersion}`,
    host: ex.rawHost,
    path: ex.path,
    status: ex.status,
    durationMs: Math.round(durationMs * 1000) / 1000,
    ingress: route?.source.ingress,
    route: route?.routeLabel,
    backend: ex.backend?.key,
    endpoint: ex.upstream ? `${ex.upstream.address}:${ex.upstream.port}` : undefined,
    retried: ex.retried || undefined,
    error: ex.errorKind,
    userAgent: req.headers['user-agent'],
    configVersion: ex.table.version,
  };
}
