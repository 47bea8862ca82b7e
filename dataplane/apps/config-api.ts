// The internal config API (its own port, never a traffic listener): PUT the whole compiled
// config, GET the applied version. Every call needs the bearer token.

import Fastify, { type FastifyInstance } from 'fastify';
import type { ConfigStore } from '../config/store.ts';
import type { TokenCheck } from './token.ts';

export interface ConfigApiOptions {
  store: ConfigStore;
  token: TokenCheck;
  /** Serve HTTPS with this certificate and key (PEM). */
  tls?: { certPem: string; keyPem: string };
  /** Largest config accepted (bytes). */
  bodyLimit?: number;
  logger?: boolean | { level: string };
}

export function build(opts: ConfigApiOptions): FastifyInstance {
  const app = Fastify({
    logger: opts.logger ?? false,
    bodyLimit: opts.bodyLimit ?? 64 * 1024 * 1024,
    ...(opts.tls
      ? { https: { cert: opts.tls.certPem, key: opts.tls.keyPem, minVersion: 'TLSv1.2' as const } }
      : {}),
  }) as unknown as FastifyInstance;

  app.addHook('onRequest', async (request, reply) => {
    if (!opts.token.verify(request.headers.authorization)) {
      reply.header('www-authenticate', 'Bearer realm="sluice-dataplane"');
      return reply.code(401).send({ error: 'unauthorized' });
    }
  });

  app.get('/v1/config', async () => {
    const table = opts.store.table;
    return {
      version: table?.version ?? null,
      appliedAt: table?.appliedAt.toISOString() ?? null,
    };
  });

  app.put('/v1/config', async (request, reply) => {
    const result = await opts.store.apply(request.body);
    if (!result.ok) {
      return reply.code(400).send({
        error: 'invalid config',
        message: `invalid config: ${result.errors.join('; ')}`,
        errors: result.errors,
      });
    }
    return {
      version: result.version,
      appliedAt: result.appliedAt.toISOString(),
      changed: result.changed,
      persisted: result.persisted,
    };
  });

  return app;
}
