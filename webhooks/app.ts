// The admission server: POST /validate/ingress and /validate/routeratio with an AdmissionReview.
// Transport problems (wrong content type, oversize or malformed body) get a 4xx and the server
// goes on; anything going wrong inside a review denies the request (fail closed).
import { STATUS_CODES } from 'node:http';
import type { Server as HttpsServer } from 'node:https';
import Fastify, {
  type FastifyBaseLogger,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
  LogController,
} from 'fastify';
import {
  type AdmissionRequest,
  type AdmissionReviewResponse,
  DEFAULT_BODY_LIMIT,
  deny,
  denyInternal,
  parseAdmissionReview,
} from './admission.ts';
import { sanitize } from './messages.ts';
import type { WebhookMetrics } from './metrics.ts';
import {
  ingressVerdict,
  type ReviewContext,
  routeRatioVerdict,
  type Verdict,
  verdictResponse,
} from './review.ts';

export type ReviewedResource = 'ingress' | 'routeratio';

export interface WebhookAppOptions {
  /** PEM certificate chain and key; without them the app serves plain HTTP (for inject() tests). */
  tls?: { cert: string; key: string };
  /** A frozen view of the cluster for one review. */
  context: () => ReviewContext;
  /**
   * A second look at a denial caused by another object's claims, which the cache may hold in an
   * older version than the API server (deleted or edited a moment ago). Returns the final verdict.
   */
  recheck?: (resource: ReviewedResource, req: AdmissionRequest, verdict: Verdict) => Promise<Verdict>;
  /** Reasons the webhook cannot review yet (caches not synced); empty when ready. */
  notReady?: () => string[];
  bodyLimit?: number;
  logger?: FastifyBaseLogger;
  metrics?: WebhookMetrics;
}

const JSON_TYPE = /^application\/json[ \t]*(;[ \t]*charset="?utf-8"?[ \t]*)?$/i;

const DECIDE: Record<ReviewedResource, (req: AdmissionRequest, ctx: ReviewContext) => Verdict> = {
  ingress: ingressVerdict,
  routeratio: routeRatioVerdict,
};

function errorText(err: unknown): string {
  return sanitize(err instanceof Error ? err.message : String(err), 300);
}

export function build(opts: WebhookAppOptions): FastifyInstance {
  const bodyLimit = opts.bodyLimit ?? DEFAULT_BODY_LIMIT;
  const app = Fastify({
    loggerInstance: opts.logger,
    // Each review is logged once, with its decision, by the handler.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit,
    requestTimeout: 10_000,
    return503OnClosing: true,
    ...(opts.tls
      ? { https: { cert: opts.tls.cert, key: opts.tls.key, minVersion: 'TLSv1.2' as const } }
      : {}),
  }) as unknown as FastifyInstance;
  const metrics = opts.metrics;

  // Only application/json is parsed, with the secure parser that refuses __proto__ keys.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser(
    'application/json',
    { parseAs: 'string', bodyLimit },
    app.getDefaultJsonParser('error', 'error'),
  );

  app.addHook('onRequest', async (req, reply) => {
    if (req.method !== 'POST') return;
    const type = req.headers['content-type'];
    if (typeof type !== 'string' || !JSON_TYPE.test(type.trim())) {
      metrics?.badRequests.inc({ reason: 'content-type' });
      return reply.code(415).send({
        error: 'Unsupported Media Type',
        message: 'an AdmissionReview must be sent as application/json',
      });
    }
  });

  app.setErrorHandler((err: Error & { statusCode?: number }, req, reply) => {
    const status = err.statusCode && err.statusCode >= 400 && err.statusCode < 500 ? err.statusCode : 500;
    if (status === 500) {
      req.log.error({ err }, 'unexpected error outside a review');
      return reply.code(500).send({ error: 'Internal Server Error', message: 'internal error' });
    }
    metrics?.badRequests.inc({
      reason: status === 413 ? 'too-large' : status === 415 ? 'content-type' : 'malformed',
    });
    return reply
      .code(status)
      .send({ error: STATUS_CODES[status] ?? 'Bad Request', message: sanitize(err.message, 300) });
  });

  async function review(resource: ReviewedResource, req: FastifyRequest, reply: FastifyReply) {
    const parsed = parseAdmissionReview(req.body);
    if (!parsed.ok) {
      metrics?.badRequests.inc({ reason: 'malformed' });
      return reply.code(400).send({ error: 'Bad Request', message: parsed.error });
    }
    const request = parsed.review.request;
    const started = performance.now();
    let response: AdmissionReviewResponse;
    let result: 'allowed' | 'denied' | 'error';
    try {
      const reasons = opts.notReady?.() ?? [];
      if (reasons.length > 0) {
        response = deny(
          request.uid,
          `the Sluice webhook is not ready yet: ${reasons.join(', ')}`,
          [],
          503,
          'ServiceUnavailable',
        );
        result = 'error';
      } else {
        let verdict = DECIDE[resource](request, opts.context());
        if (!verdict.allowed && verdict.conflicts.length > 0 && opts.recheck) {
          verdict = await opts.recheck(resource, request, verdict);
        }
        response = verdictResponse(request.uid, verdict);
        result = verdict.allowed ? 'allowed' : 'denied';
      }
    } catch (err) {
      req.log.error({ err, uid: request.uid }, 'review failed; denying');
      response = denyInternal(request.uid, errorText(err));
      result = 'error';
    }
    metrics?.admissions.inc({ resource, operation: request.operation, result });
    metrics?.admissionSeconds.observe({ resource }, (performance.now() - started) / 1000);
    const r = response.response;
    const log = {
      uid: request.uid,
      resource,
      operation: request.operation,
      namespace: request.namespace,
      name: request.name,
    };
    if (!r.allowed) req.log.info({ ...log, message: r.status?.message }, 'denied');
    else req.log.debug({ ...log, warnings: r.warnings?.length ?? 0 }, 'allowed');
    return reply.send(response);
  }

  app.post('/validate/ingress', (req, reply) => review('ingress', req, reply));
  app.post('/validate/routeratio', (req, reply) => review('routeratio', req, reply));
  return app;
}

/** Swaps the serving certificate of a running HTTPS app; new handshakes use it at once. */
export function reloadTls(app: FastifyInstance, tls: { cert: string; key: string }): void {
  (app.server as unknown as HttpsServer).setSecureContext({
    cert: tls.cert,
    key: tls.key,
    minVersion: 'TLSv1.2',
  });
}
