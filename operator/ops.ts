// The operator's ops endpoints: /healthz (the process serves), /readyz (every informer has
// finished its first list), /metrics (Prometheus).

import Fastify, { type FastifyInstance } from 'fastify';
import type { Registry } from 'prom-client';

export interface OpsOptions {
  registry: Registry;
  /** Why the operator is not ready, or undefined when it is. */
  notReady: () => string | undefined;
  /** Small facts for /readyz, e.g. leadership. */
  info?: () => Record<string, unknown>;
}

export function buildOps(opts: OpsOptions): FastifyInstance {
  const app = Fastify({ logger: false });
  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/readyz', async (_req, reply) => {
    const reason = opts.notReady();
    if (reason !== undefined) return reply.code(503).send({ status: 'not ready', reason });
    return { status: 'ready', ...opts.info?.() };
  });
  app.get('/metrics', async (_req, reply) => {
    reply.header('content-type', opts.registry.contentType);
    return opts.registry.metrics();
  });
  return app;
}
