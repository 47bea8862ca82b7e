// The internal config API (its own port, never a traffic listener): PUT the whole compiled
// config, PATCH the applied one (a ConfigPatch from `dataplane/api/patch.ts`), GET the applied
// version. Every call needs the bearer token.

import Fastify, { type FastifyInstance, type FastifyReply } from 'fastify';
import type { ApplyResult, ConfigStore } from '../config/store.ts';
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

  const answer = (reply: FastifyReply, result: ApplyResult, what: string) => {
    if (!result.ok) {
      if (result.reason === 'base mismatch') {
        return reply.code(409).send({ error: 'base mismatch', version: result.version });
      }
      return reply.code(400).send({
        error: `invalid ${what}`,
        message: `invalid ${what}: ${result.errors.join('; ')}`,
        errors: result.errors,
      });
    }
    return {
      version: result.version,
      appliedAt: result.appliedAt.toISOString(),
      changed: result.changed,
      persisted: result.persisted,
    };
  };

  app.put('/v1/config', async (request, reply) => answer(reply, opts.store.apply(request.body), 'config'));

  // 409 when the applied version is not the patch's base: the sender then PUTs the whole config.
  app.patch('/v1/config', async (request, reply) => answer(reply, opts.store.patch(request.body), 'patch'));

  return app;
}
