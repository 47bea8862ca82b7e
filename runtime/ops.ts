// The ops app every Sluice process serves on its own plain-HTTP port: liveness, readiness and
// Prometheus metrics, in one format for all three programs, so probes, scripts and people read
// them the same way. A program adds its own routes (the data plane's /debug/explain) as a plugin.
//
//   GET /healthz  200 {"status":"ok"}                 while the process serves at all
//   GET /readyz   200 {"status":"ok","checks":{...}}  every check passes
//                 503 {"status":"unready","checks":{...}}  a check names why not
//   GET /metrics  the prom-client registry, Prometheus text format

import Fastify, { type FastifyInstance, type FastifyPluginAsync } from 'fastify';
import type { Registry } from 'prom-client';

/** A readiness check: undefined when it passes, otherwise why it does not. */
export type ReadinessCheck = () => string | undefined;

export interface ReadyBody {
  status: 'ok' | 'unready';
  /** Each check by name: "ok", or the reason it fails. */
  checks: Record<string, string>;
  /** Small facts a program adds (e.g. leadership); never decides readiness. */
  info?: Record<string, unknown>;
}

export interface OpsOptions {
  registry: Registry;
  checks: Record<string, ReadinessCheck>;
  info?: () => Record<string, unknown>;
  /** Extra routes, registered after the common ones. */
  plugins?: FastifyPluginAsync[];
  logger?: boolean | object;
}

export function readiness(checks: Record<string, ReadinessCheck>): ReadyBody {
  const out: Record<string, string> = {};
  let ready = true;
  for (const [name, check] of Object.entries(checks)) {
    const reason = check();
    out[name] = reason ?? 'ok';
    if (reason !== undefined) ready = false;
  }
  return { status: ready ? 'ok' : 'unready', checks: out };
}

export function build(opts: OpsOptions): FastifyInstance {
  const app = Fastify({ logger: opts.logger ?? false }) as unknown as FastifyInstance;
  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/readyz', async (_req, reply) => {
    const body = readiness(opts.checks);
    if (opts.info) body.info = opts.info();
    return reply.code(body.status === 'ok' ? 200 : 503).send(body);
  });
  app.get('/metrics', async (_req, reply) =>
    reply.type(opts.registry.contentType).send(await opts.registry.metrics()),
  );
  for (const plugin of opts.plugins ?? []) app.register(plugin);
  return app;
}
