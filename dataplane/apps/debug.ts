// The data plane's own ops route, `/debug/explain`, as a plugin on the shared ops app
// (runtime/ops.ts), plus the data plane's readiness checks.

import type { FastifyPluginAsync } from 'fastify';
import type { ReadinessCheck } from '../../runtime/ops.ts';
import type { RoutingTable } from '../routing/table.ts';
import { explain } from './explain.ts';

export interface DebugOptions {
  table(): RoutingTable | undefined;
  draining(): boolean;
}

/** Not ready while draining or before the first config is applied. */
export function readinessChecks(opts: DebugOptions): Record<string, ReadinessCheck> {
  return {
    draining: () => (opts.draining() ? 'draining' : undefined),
    config: () => (opts.table() === undefined ? 'no configuration applied yet' : undefined),
  };
}

export function debugRoutes(opts: DebugOptions): FastifyPluginAsync {
  return async (app) => {
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
  };
}
