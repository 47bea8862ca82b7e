// The ops server (plain HTTP, its own port): liveness, readiness and metrics. Kept apart from the
// admission listener so probes and scrapes never share its TLS or its body limits.
import Fastify, { type FastifyInstance } from 'fastify';
import type { Registry } from 'prom-client';

export interface OpsOptions {
  registry: Registry;
  /** Reasons the webhook is not ready yet; empty means ready. */
  notReady: () => string[];
  logger?: boolean | object;
}

export function buildOps(opts: OpsOptions): FastifyInstance {
  const app = Fastify({ logger: opts.logger ?? false });
  app.get('/healthz', async (_req, reply) => reply.type('text/plain').send('ok\n'));
  app.get('/readyz', async (_req, reply) => {
    const reasons = opts.notReady();
    if (reasons.length === 0) return reply.type('text/plain').send('ok\n');
    return reply
      .code(503)
      .type('text/plain')
      .send(`not ready:\n${reasons.map((r) => `- ${r}\n`).join('')}`);
  });
  app.get('/metrics', async (_req, reply) =>
    reply.type(opts.registry.contentType).send(await opts.registry.metrics()),
  );
  return app;
}
