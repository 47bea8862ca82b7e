// Ties finished exchanges to metrics and the access log.

import type { Logger } from 'pino';
import type { ExchangeObserver } from '../proxy/exchange.ts';
import type { UpstreamErrorKind } from '../proxy/upstream-errors.ts';
import { accessLogEntry } from './access-log.ts';
import type { DataplaneMetrics } from './metrics.ts';

export function createObserver(metrics: DataplaneMetrics, accessLog: Logger | undefined): ExchangeObserver {
  return {
    done(ex) {
      const ms = performance.now() - ex.startedAt;
      metrics.request(ex.route, ex.backend?.key ?? '', ex.status, ms / 1000);
      if (accessLog !== undefined && ex.route?.policy.accessLog !== false)
        accessLog.info(accessLogEntry(ex, ms), 'request');
    },
    upstreamError(ex, kind: UpstreamErrorKind) {
      metrics.upstreamError(ex.backend?.key ?? '', kind);
    },
  };
}
