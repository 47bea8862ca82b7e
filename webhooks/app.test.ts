import assert from 'node:assert/strict';
import { request as httpsRequest } from 'node:https';
import type { AddressInfo } from 'node:net';
import { describe, test } from 'node:test';
import type { TLSSocket } from 'node:tls';
import { generateCa, issueServing } from '../runtime/pki.ts';
import { build, reloadTls } from './app.ts';
import { createMetrics } from './metrics.ts';
import type { Verdict } from './review.ts';
import { context, ingress, ingressClass, review, service, snapshot, T0 } from './testing/fixtures.ts';

const snap = snapshot({
  ingressClasses: [ingressClass('sluice')],
  ingresses: [ingress('shop', 'api-v1', { created: T0 })],
  services: [service('shop', 'web')],
});

function app(overrides: Partial<Parameters<typeof build>[0]> = {}) {
  const metrics = createMetrics({ defaultMetrics: false });
  const a = build({ context: () => context(snap), metrics, ...overrides });
  return { a, metrics };
}

const json = { 'content-type': 'application/json' };

describe('admission server', () => {
  test('answers a review with an AdmissionReview (allowed and denied)', async (t) => {
    const { a, metrics } = app();
    t.after(() => a.close());
    const ok = await a.inject({
      method: 'POST',
      url: '/validate/ingress',
      headers: json,
      payload: review(ingress('shop', 'api-v1', { created: T0 })),
    });
    assert.equal(ok.statusCode, 200);
    assert.equal(ok.json().response.allowed, true);
    const no = await a.inject({
      method: 'POST',
      url: '/validate/ingress',
      headers: json,
      payload: review(ingress('shop', 'api-v2')),
    });
    assert.equal(no.statusCode, 200);
    assert.equal(no.json().response.allowed, false);
    assert.match(no.json().response.status.message, /already routed by Ingress shop\/api-v1/);
    const text = await metrics.registry.metrics();
    assert.match(
      text,
      /sluice_webhook_admission_requests_total\{resource="ingress",operation="CREATE",result="allowed"\} 1/,
    );
    assert.match(
      text,
      /sluice_webhook_admission_requests_total\{resource="ingress",operation="CREATE",result="denied"\} 1/,
    );
  });

  test('accepts application/json with a utf-8 charset, refuses other content types with 415', async (t) => {
    const { a } = app();
    t.after(() => a.close());
    const body = JSON.stringify(
      review(ingress('shop', 'x', { rules: [{ host: 'x.example.com', paths: [{ path: '/' }] }] })),
    );
    const charset = await a.inject({
      method: 'POST',
      url: '/validate/ingress',
      headers: { 'content-type': 'application/json; charset=utf-8' },
      payload: body,
    });
    assert.equal(charset.statusCode, 200);
    for (const type of [
      'text/plain',
      'application/json; charset=latin1',
      'application/jsonx',
      'application/x-www-form-urlencoded',
      undefined,
    ]) {
      const res = await a.inject({
        method: 'POST',
        url: '/validate/ingress',
        headers: type ? { 'content-type': type } : {},
        payload: body,
      });
      assert.equal(res.statusCode, 415, `content-type ${type}`);
      assert.match(res.json().message, /application\/json/);
    }
  });

  test('a malformed body or review gets 400 with a reason, and the server goes on', async (t) => {
    const { a, metrics } = app();
    t.after(() => a.close());
    const cases: Array<[string, RegExp]> = [
      ['{"apiVersion":', /JSON/i],
      ['[]', /malformed AdmissionReview: \(root\) must be object/],
      ['null', /malformed AdmissionReview/],
      ['"review"', /malformed AdmissionReview/],
      [
        '{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview"}',
        /must have required property 'request'/,
      ],
      [
        '{"apiVersion":"admission.k8s.io/v1beta1","kind":"AdmissionReview","request":{}}',
        /apiVersion must be equal to constant/,
      ],
      ['{"__proto__":{"polluted":true}}', /not valid JSON/],
      ['', /empty|body/i],
    ];
    for (const [payload, message] of cases) {
      const res = await a.inject({ method: 'POST', url: '/validate/routeratio', headers: json, payload });
      assert.equal(res.statusCode, 400, payload);
      assert.match(res.json().message, message, payload);
    }
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
    const after = await a.inject({
      method: 'POST',
      url: '/validate/ingress',
      headers: json,
      payload: review(ingress('shop', 'api-v1', { created: T0 })),
    });
    assert.equal(after.statusCode, 200);
    assert.match(
      await metrics.registry.metrics(),
      /sluice_webhook_bad_requests_total\{reason="malformed"\} 8/,
    );
  });

  test('an oversized body gets 413', async (t) => {
    const { a } = app({ bodyLimit: 4096 });
    t.after(() => a.close());
    const big = ingress('shop', 'big', { annotations: { filler: 'x'.repeat(8000) } });
    const res = await a.inject({
      method: 'POST',
      url: '/validate/ingress',
      headers: json,
      payload: review(big),
    });
    assert.equal(res.statusCode, 413);
    const ok = await a.inject({
      method: 'POST',
      url: '/validate/ingress',
      headers: json,
      payload: review(ingress('shop', 'api-v1', { created: T0 })),
    });
    assert.equal(ok.statusCode, 200);
  });

  test('unknown paths and methods get 404', async (t) => {
    const { a } = app();
    t.after(() => a.close());
    assert.equal((await a.inject({ method: 'GET', url: '/validate/ingress' })).statusCode, 404);
    assert.equal(
      (await a.inject({ method: 'POST', url: '/mutate/ingress', headers: json, payload: '{}' })).statusCode,
      404,
    );
  });

  test('not ready: denies with the reason instead of reviewing against an empty cache', async (t) => {
    const { a } = app({ notReady: () => ['informer cache /apis/networking.k8s.io/v1/ingresses not synced'] });
    t.after(() => a.close());
    const res = await a.inject({
      method: 'POST',
      url: '/validate/ingress',
      headers: json,
      payload: review(ingress('shop', 'x')),
    });
    assert.equal(res.json().response.allowed, false);
    assert.equal(res.json().response.status.code, 503);
    assert.match(res.json().response.status.message, /not ready yet: informer cache .* not synced/);
  });

  test('an internal error denies that request (fail closed) and the next one is served', async (t) => {
    let fail = true;
    const { a } = app({
      context: () => {
        if (fail) throw new Error('cache exploded');
        return context(snap);
      },
    });
    t.after(() => a.close());
    const r = review(ingress('shop', 'x'));
    const res = await a.inject({ method: 'POST', url: '/validate/ingress', headers: json, payload: r });
    assert.equal(res.statusCode, 200);
    assert.deepEqual(res.json().response, {
      uid: r.request.uid,
      allowed: false,
      status: {
        code: 500,
        reason: 'InternalError',
        message: 'internal error in the Sluice webhook, request denied: cache exploded',
      },
    });
    fail = false;
    const next = await a.inject({
      method: 'POST',
      url: '/validate/ingress',
      headers: json,
      payload: review(ingress('shop', 'api-v1', { created: T0 })),
    });
    assert.equal(next.json().response.allowed, true);
  });

  test('a denial caused by other objects is re-checked; other verdicts are not', async (t) => {
    const calls: Verdict[] = [];
    const { a } = app({
      recheck: async (_resource, _req, verdict) => {
        calls.push(verdict);
        return { allowed: true, reasons: [], warnings: ['re-checked'], conflicts: [] };
      },
    });
    t.after(() => a.close());
    const res = await a.inject({
      method: 'POST',
      url: '/validate/ingress',
      headers: json,
      payload: review(ingress('shop', 'api-v2')),
    });
    assert.deepEqual(res.json().response.warnings, ['re-checked']);
    assert.equal(calls.length, 1);
    assert.equal(calls[0].conflicts[0].holder.name, 'api-v1');
    const invalid = ingress('shop', 'bad', { rules: [{ host: 'bad host', paths: [{ path: '/' }] }] });
    const res2 = await a.inject({
      method: 'POST',
      url: '/validate/ingress',
      headers: json,
      payload: review(invalid),
    });
    assert.equal(res2.json().response.allowed, false);
    assert.equal(calls.length, 1);
  });

  test('serves HTTPS and swaps the certificate without a restart', async (t) => {
    const now = Date.now();
    const validity = { notBefore: new Date(now - 60_000), notAfter: new Date(now + 3_600_000) };
    const names = { commonName: 'webhook', names: ['127.0.0.1'] };
    const ca1 = await generateCa('ca-1', validity);
    const ca2 = await generateCa('ca-2', validity);
    const tls1 = await issueServing(ca1, names, validity);
    const tls2 = await issueServing(ca2, names, validity);
    const { a } = app({ tls: tls1 });
    t.after(() => a.close());
    await a.listen({ host: '127.0.0.1', port: 0 });
    const port = (a.server.address() as AddressInfo).port;
    const call = (ca: string) =>
      new Promise<{ status: number; issuer: string }>((resolve, reject) => {
        const req = httpsRequest(
          {
            host: '127.0.0.1',
            port,
            method: 'POST',
            path: '/validate/ingress',
            ca,
            agent: false,
            headers: json,
          },
          (res) => {
            const issuer = String((res.socket as TLSSocket).getPeerCertificate().issuer.CN);
            res.resume();
            res.on('end', () => resolve({ status: res.statusCode ?? 0, issuer }));
          },
        );
        req.on('error', reject);
        req.end(JSON.stringify(review(ingress('shop', 'api-v1', { created: T0 }))));
      });
    assert.deepEqual(await call(ca1.cert), { status: 200, issuer: 'ca-1' });
    reloadTls(a, tls2);
    assert.deepEqual(await call(ca2.cert), { status: 200, issuer: 'ca-2' });
    await assert.rejects(call(ca1.cert), /self-signed|unable to verify|certificate/i);
  });
});
