// The internal config API (its own port, never a traffic listener): PUT the whole compiled
// config, PATCH the applied one (a ConfigPatch from `contract/patch.ts`), GET the applied
// version. Every call needs the bearer token.

import { STATUS_CODES } from 'node:http';
import Fastify, { type FastifyError, type FastifyInstance, type FastifyReply } from 'fastify';
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
  const bodyLimit = opts.bodyLimit ?? 64 * 1024 * 1024;
  const app = Fastify({
    logger: opts.logger ?? false,
    bodyLimit,
    ...(opts.tls
      ? { https: { cert: opts.tls.certPem, key: opts.tls.keyPem, minVersion: 'TLSv1.2' as const } }
      : {}),
  }) as unknown as FastifyInstance;

  // Our own words for what went wrong with the request itself: parser and library text (and
  // never a stack) stays in the log.
  app.setErrorHandler((err: FastifyError, request, reply) => {
    const status = err.statusCode ?? 500;
    if (status >= 500) {
      request.log.error({ err }, 'config API error');
      return reply
        .code(500)
        .send({ error: 'internal error', message: 'internal error (see the data plane log)' });
    }
    const message = requestProblem(err, bodyLimit);
    return reply.code(status).send({ error: STATUS_CODES[status] ?? 'bad request', message });
  });

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

/** A request refused before it reached the store (4xx from the body parser and router). */
function requestProblem(err: FastifyError, bodyLimit: number): string {
  switch (err.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return `body: larger than ${bodyLimit} bytes`;
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return 'content-type: must be application/json';
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return 'body: empty';
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return 'content-length: does not match the body';
  }
  // The parser refuses prototype keys with the same error as broken JSON.
  if (err.statusCode === 400) return 'body: not valid JSON, or has a "__proto__" or "constructor" key';
  return 'request refused';
}
