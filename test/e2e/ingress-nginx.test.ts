// End to end: an application written for ingress-nginx (class `nginx`, its annotations, a canary
// Ingress pair, basic auth from an htpasswd Secret) applied unchanged from testdata/ingress-nginx/
// to a Sluice running in ingress-nginx mode, checked request by request; then the canary weight is
// changed with `kubectl annotate`, as a team rolling out would, and the new split is observed.
//
// Only the TLS Secret is made here (as cert-manager would make it): no private key in the repo.
import assert from 'node:assert/strict';
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { join } from 'node:path';
import { test } from 'node:test';
import { until } from '../../contract/testing/poll.ts';
import { kubectlOk } from '../../operator/testing/harness.ts';
import { generateCa, issueServing } from '../../runtime/pki.ts';
import { rolledOut, type Stack, startStack } from '../support/stack.ts';

const TESTDATA = join(import.meta.dirname, 'testdata', 'ingress-nginx');
const SHOP = 'shop.example.test';
const ORIGIN = 'https://app.example.test';

interface Answer {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
  /** The echo pod's answer, when one answered. */
  echo?: { text: string; path: string; headers: Record<string, string> };
}

interface Send {
  host: string;
  path?: string;
  method?: string;
  headers?: Record<string, string>;
  /** HTTPS with SNI `host`, trusting `ca`. */
  ca?: string;
}

/** One request on a fresh connection to the data plane's load balancer. */
function send(lb: string, o: Send): Promise<Answer> {
  const common = {
    host: lb,
    path: o.path ?? '/',
    method: o.method ?? 'GET',
    headers: { host: o.host, ...o.headers },
    agent: false,
    timeout: 10_000,
  };
  return new Promise((resolve, reject) => {
    const onResponse = (res: import('node:http').IncomingMessage) => {
      let body = '';
      res.setEncoding('utf8').on('data', (d: string) => {
        body += d;
      });
      res.on('end', () => {
        let echo: Answer['echo'];
        try {
          const parsed = JSON.parse(body);
          if (typeof parsed?.text === 'string') echo = parsed;
        } catch {
          // not an echo answer
        }
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body, echo });
      });
    };
    const req = o.ca
      ? httpsRequest({ ...common, port: 443, servername: o.host, ca: o.ca }, onResponse)
      : httpRequest({ ...common, port: 80 }, onResponse);
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end();
  });
}

const basic = (user: string, password: string) =>
  `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

/** Versions answering `count` requests one after another, e.g. { v1: 80, v2: 20 }. */
async function versions(stack: Stack, ca: string, count: number, headers: Record<string, string> = {}) {
  const out: Record<string, number> = {};
  for (let i = 0; i < count; i++) {
    const r = await send(stack.lb, { host: SHOP, ca, headers });
    const key = r.echo?.text ?? `status ${r.status}`;
    out[key] = (out[key] ?? 0) + 1;
  }
  return out;
}

test('an ingress-nginx application, unchanged, on Sluice in ingress-nginx mode', async (t) => {
  const stack = await startStack(t, { operatorFlags: ['--ingress-nginx-compat'] });
  const validity = { notBefore: new Date(Date.now() - 60_000), notAfter: new Date(Date.now() + 86_400_000) };
  const authority = await generateCa('e2e ingress-nginx CA', validity);
  const serving = await issueServing(authority, { commonName: SHOP, names: [SHOP] }, validity);
  const ca = authority.cert;
  await stack.apply([
    {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'shop-tls' },
      type: 'kubernetes.io/tls',
      stringData: { 'tls.crt': serving.cert, 'tls.key': serving.key },
    },
  ]);
  await kubectlOk(stack.c, ['-n', stack.app, 'apply', '-f', TESTDATA]);
  await rolledOut(stack, 'shop-v1', 1);
  await rolledOut(stack, 'shop-v2', 1);

  // Served once something other than "no route" answers; a minute is plenty on a loaded machine.
  const served = (o: Send) =>
    until(
      async () => {
        const r = await send(stack.lb, o);
        return r.status !== 404 && r.status !== 503 && r;
      },
      `${o.host} served`,
      60_000,
    );

  await t.test('class nginx is taken over: routed, and Ingress status names the load balancer', async () => {
    const r = await served({ host: SHOP, ca });
    assert.equal(r.status, 200);
    assert.ok(r.echo, 'an echo pod answered');
    const lbIp = await until(async () => {
      const ing = JSON.parse(
        await kubectlOk(stack.c, ['-n', stack.app, 'get', 'ingress', 'shop', '-o', 'json']),
      );
      return ing.status?.loadBalancer?.ingress?.[0]?.ip as string | undefined;
    }, 'Ingress status');
    assert.equal(lbIp, stack.lb);
  });

  await t.test('legacy class annotation with basic auth from an htpasswd Secret', async () => {
    const anonymous = await served({ host: 'staff.example.test' });
    assert.equal(
      anonymous.status,
      401,
      `no credentials: ${anonymous.status} ${anonymous.body.slice(0, 200)}`,
    );
    assert.equal(anonymous.headers['www-authenticate'], 'Basic realm="Staff only"');
    assert.equal(anonymous.echo, undefined, 'the backend never saw it');
    const alice = await send(stack.lb, {
      host: 'staff.example.test',
      headers: { authorization: basic('alice', 'alice-s3cret') },
    });
    assert.equal(alice.status, 200, 'apr1-MD5 entry');
    assert.equal(alice.echo?.text, 'v1');
    const bob = await send(stack.lb, {
      host: 'staff.example.test',
      headers: { authorization: basic('bob', 'bob-s3cret') },
    });
    assert.equal(bob.status, 200, 'bcrypt ($2y$) entry');
    for (const [user, password] of [
      ['alice', 'bob-s3cret'],
      ['mallory', 'alice-s3cret'],
      ['alice', ''],
    ]) {
      const r = await send(stack.lb, {
        host: 'staff.example.test',
        headers: { authorization: basic(user, password) },
      });
      assert.equal(r.status, 401, `${user} with a wrong password`);
    }
  });

  await t.test('ssl-redirect: plain HTTP to a TLS host redirects, path and query kept', async () => {
    const r = await send(stack.lb, { host: SHOP, path: '/cart?id=3' });
    assert.equal(r.status, 308);
    assert.equal(r.headers.location, `https://${SHOP}/cart?id=3`);
  });

  await t.test('rewrite-target with a regex path: the capture group is what the backend sees', async () => {
    const r = await served({ host: 'api.example.test', path: '/api/items/7?sort=asc' });
    assert.equal(r.status, 200);
    assert.equal(r.echo?.path, '/items/7?sort=asc');
    const root = await send(stack.lb, { host: 'api.example.test', path: '/api' });
    assert.equal(root.echo?.path, '/');
    const other = await send(stack.lb, { host: 'api.example.test', path: '/apix' });
    assert.equal(other.status, 404, '/apix is not under the regex (it needs / or the end after /api)');
  });

  await t.test('whitelist-source-range: outside the list 403, inside it served', async () => {
    const denied = await served({ host: 'office.example.test' });
    assert.equal(denied.status, 403);
    assert.equal(denied.echo, undefined, 'the backend never saw it');
    const allowed = await served({ host: 'internal.example.test' });
    assert.equal(
      allowed.status,
      200,
      `client seen as ${allowed.echo?.headers['x-forwarded-for'] ?? '(unknown)'}`,
    );
  });

  await t.test('enable-cors: preflight answered, allowed origin echoed, others not', async () => {
    const pre = await send(stack.lb, {
      host: SHOP,
      ca,
      method: 'OPTIONS',
      headers: { origin: ORIGIN, 'access-control-request-method': 'PUT' },
    });
    assert.equal(pre.status, 204);
    assert.equal(pre.echo, undefined, 'the preflight is answered by the data plane');
    assert.equal(pre.headers['access-control-allow-origin'], ORIGIN);
    assert.equal(pre.headers['access-control-allow-credentials'], 'true');
    assert.match(String(pre.headers['access-control-allow-methods']), /\bPUT\b/);
    assert.equal(pre.headers['access-control-max-age'], '1728000');
    const get = await send(stack.lb, { host: SHOP, ca, headers: { origin: ORIGIN } });
    assert.equal(get.status, 200);
    assert.equal(get.headers['access-control-allow-origin'], ORIGIN);
    const other = await send(stack.lb, { host: SHOP, ca, headers: { origin: 'https://evil.example' } });
    assert.equal(other.status, 200);
    assert.equal(other.headers['access-control-allow-origin'], undefined);
  });

  await t.test('canary: weight 20 without the header, the header decides when present', async () => {
    const split = await versions(stack, ca, 100);
    assert.equal((split.v1 ?? 0) + (split.v2 ?? 0), 100, JSON.stringify(split));
    // ingress-nginx draws each request at random: 20% of 100 lands in 5..40 but for odds of 1e-5.
    assert.ok((split.v2 ?? 0) >= 5 && (split.v2 ?? 0) <= 40, JSON.stringify(split));
    assert.deepEqual(await versions(stack, ca, 20, { 'x-canary': 'always' }), { v2: 20 });
    assert.deepEqual(await versions(stack, ca, 20, { 'x-canary': 'never' }), { v1: 20 });
  });

  await t.test('canary weight changed with kubectl annotate: the new split is served', async () => {
    const annotate = (weight: number) =>
      kubectlOk(stack.c, [
        '-n',
        stack.app,
        'annotate',
        '--overwrite',
        'ingress',
        'shop-canary',
        `nginx.ingress.kubernetes.io/canary-weight=${weight}`,
      ]);
    await annotate(100);
    await until(async () => (await versions(stack, ca, 10)).v2 === 10, 'weight 100 served', 60_000);
    assert.deepEqual(await versions(stack, ca, 40), { v2: 40 });
    // The header still wins over the weight.
    assert.deepEqual(await versions(stack, ca, 10, { 'x-canary': 'never' }), { v1: 10 });
    await annotate(0);
    await until(async () => (await versions(stack, ca, 10)).v1 === 10, 'weight 0 served', 60_000);
    assert.deepEqual(await versions(stack, ca, 40), { v1: 40 });
    assert.deepEqual(await versions(stack, ca, 10, { 'x-canary': 'always' }), { v2: 10 });
  });
});
