// The ops app (its own port): liveness, readiness, Prometheus metrics and `/debug/explain`.

import Fastify, { type FastifyInstance } from 'fastify';
import type { Registry } from 'prom-client';
import type { RoutingTable } from '../routing/table.ts';
import { explain } from './explain.ts';

export interface OpsOptions {
  table(): RoutingTable | undefined;
  draining(): boolean;
  registry: Registry;
  logger?: boolean | { level: string };
}

export function build(opts: OpsOptions): FastifyInstance {
  const app = Fastify({ logger: opts.logger ?? false }) as unknown as FastifyInstance;

  app.get('/healthz', async () => 'ok\n');

  app.get('/readyz', async (_request, reply) => {
    if (opts.draining()) return reply.code(503).send('draining\n');
    if (opts.table() === undefined) return reply.code(503).send('no configuration applied yet\n');
    return 'ok\n';
  });

  app.get('/metrics', async (_request, reply) => {
    reply.header('content-type', opts.registry.contentType);
    return opts.registry.metrics();
  });

  app.get<{ Querystring: { url?: string; key?: string } }>('/debug/explain', async (request, reply) => {
    const table = opts.table();
    if (table === undefined) return reply.code(503).send({ error: 'no configuration applied yet' });
    const url = request.query.url;
    if (typeof url !== 'string' || url === '') {
      return reply.code(400).send({ error: 'query parameter url is required' });
    }
    const key = typeof request.query.key === 'string' ? request.query.key : undefined;
    const result = explain(table, url, { key });
    if (!result.ok) return reply.code(400).send({ error: result.error });
    return result.body;
  });

  return app;
}
