// Every config the shared validator accepts can be served. Random valid configs at the edges of
// the schema (IPv6 endpoints in several spellings, odd hosts and paths, wildcard and catch-all
// hosts, weight-0 splits, sticky cookies and headers, overrides, real certificates) are pushed to
// a real data plane and every route gets a request; strings drawn close to the schema's edges are
// put into a config, and whatever the validator accepts must compile, build its upstream pools and
// match a request at its own path.

import assert from 'node:assert/strict';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import fc from 'fast-check';
import { configVersion } from '../../contract/canonical.ts';
import { normalizePath } from '../../contract/normalize.ts';
import { servableArbitraries } from '../../contract/testing/arbitrary.ts';
import { backend, backendKey, makeConfig, route, sticky, vhost } from '../../contract/testing/fixtures.ts';
import type { DataplaneConfig, Split, VirtualHost } from '../../contract/types.ts';
import { validateConfig } from '../../contract/validate.ts';
import { selfSignedCertificate } from '../edge/self-signed.ts';
import { SecureContextCache } from '../edge/sni.ts';
import { compileTable } from '../routing/table.ts';
import { closedPort, closeServer, listen, request, startTestDataplane } from '../testing/net.ts';
import { UpstreamRegistry } from '../upstream/registry.ts';

/** Collects exceptions that escape to the process while `run` runs. */
async function noEscapes(run: () => Promise<void>): Promise<unknown[]> {
  const escaped: unknown[] = [];
  const onError = (err: unknown) => escaped.push(err);
  process.on('uncaughtException', onError);
  process.on('unhandledRejection', onError);
  try {
    await run();
  } finally {
    process.off('uncaughtException', onError);
    process.off('unhandledRejection', onError);
  }
  return escaped;
}

async function answeringServer(t: import('node:test').TestContext, host: string): Promise<number> {
  const server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => res.end('ok'));
  });
  await listen(server, host);
  t.after(() => closeServer(server));
  return (server.address() as AddressInfo).port;
}

/** A request host that the virtual host matches. */
function hostFor(vh: VirtualHost): string {
  if (vh.kind === 'any') return 'any-host.test';
  if (vh.kind === 'wildcard') return `w${vh.host.slice(1)}`;
  return vh.host;
}

/** Headers that exercise the split: its sticky key and its first override. */
function splitHeaders(split: Split): Record<string, string> {
  const headers: Record<string, string> = {};
  if (split.sticky?.header) headers[split.sticky.header.name] = 'client-42';
  const o = split.overrides[0];
  if (o?.header?.value !== undefined) headers[o.header.name] = o.header.value;
  if (o?.cookie) headers.cookie = `${o.cookie.name}=${o.cookie.value}`;
  return headers;
}

function httpsRequest(port: number, host: string, path: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = https.request(
      {
        host: '127.0.0.1',
        port,
        path,
        headers: { host },
        // SNI carries names only, never IP literals.
        ...(/^[0-9.]+$/.test(host) ? {} : { servername: host }),
        rejectUnauthorized: false,
        agent: false,
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode!));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end();
  });
}

test('property: every config the validator accepts is served; every route answers', async (t) => {
  const certificates = await Promise.all(
    ['one', 'two'].map((name) => selfSignedCertificate({ commonName: name, names: [`${name}.example`] })),
  );
  const targets = {
    v4Port: await answeringServer(t, '127.0.0.1'),
    v6Port: await answeringServer(t, '::1'),
    closedPort: await closedPort(),
    certificates,
  };
  const dp = await startTestDataplane(t);
  const { configArb } = servableArbitraries(targets);
  let requests = 0;

  const escaped = await noEscapes(() =>
    fc.assert(
      fc.asyncProperty(configArb, async (config) => {
        assert.deepEqual(validateConfig(config), { ok: true, config }, 'the arbitrary draws valid configs');
        const put = await dp.push(config);
        assert.equal(put.status, 200, JSON.stringify(put.body));
        for (const vh of config.virtualHosts) {
          const host = hostFor(vh);
          for (const r of vh.routes) {
            const path = r.pathType === 'Exact' ? r.path : `${r.path === '/' ? '' : r.path}/z`;
            const headers = splitHeaders(r.split);
            for (const method of ['GET', 'POST']) {
              const res = await request(dp.ports.http, {
                host,
                path,
                method,
                headers,
                body: method === 'POST' ? 'hello' : undefined,
              });
              assert.ok(res.status >= 200 && res.status < 600, `${host}${path}: ${res.status}`);
              requests++;
            }
            if (vh.tls) {
              const status = await httpsRequest(dp.ports.https, host, path);
              assert.ok(status >= 200 && status < 600, `https ${host}${path}: ${status}`);
            }
          }
        }
        // Nothing matches: the default route or 404.
        const miss = await request(dp.ports.http, { host: 'no-such-host.test', path: '/nothing' });
        const anyHost = config.virtualHosts.some((vh) => vh.kind === 'any');
        if (!anyHost) assert.equal(miss.status === 404, config.defaultRoute === undefined);
        else assert.ok(miss.status >= 200 && miss.status < 600);
      }),
      { numRuns: 25 },
    ),
  );
  assert.deepEqual(escaped, [], 'no exception reached the process');
  assert.ok(requests > 0);
  const after = await fetch(`http://127.0.0.1:${dp.ports.config}/v1/config`, {
    headers: { authorization: `Bearer ${dp.token}` },
  });
  assert.equal(after.status, 200, 'the data plane still answers');
});

// Strings near the schema's edges for the fields that become URLs, header names and values,
// cookies and path matchers.
const pieces = (parts: string[]) =>
  fc.array(fc.constantFrom(...parts), { maxLength: 10 }).map((a) => a.join(''));
const addressArb = fc.oneof(
  pieces(['0', '1', 'a', 'F', ':', '::', '.', '255', '256', 'ffff', '%', 'eth0', '01']),
  fc.string({ unit: 'binary-ascii', maxLength: 46 }),
);
const pathArb = fc.oneof(
  pieces(['/', '/', '.', '..', 'a', '%2E', '%2e', '%41', '%2F', '%5C', '%', '%20', '%C3', '%00', ';', '~']),
  fc.string({ unit: 'binary-ascii', maxLength: 20 }).map((s) => `/${s}`),
);
const tokenArb = fc.oneof(
  pieces(['a', 'Z', '-', '_', '.', '!', '"', ',', ';', '=', ' ', '\t', '(', '@', '$', '`', '~', '0']),
  fc.string({ unit: 'binary-ascii', maxLength: 20 }),
);
const hostArb = fc.oneof(
  pieces(['a', '0', '-', '.', '*', '*.', 'x', '_', ':', 'ä']),
  fc.string({ unit: 'binary-ascii', maxLength: 20 }),
);

type Field = 'address' | 'path' | 'cookie' | 'header' | 'headerValue' | 'cookieValue' | 'host';
const fieldArb: fc.Arbitrary<[Field, string]> = fc.oneof(
  fc.tuple(fc.constant<Field>('address'), addressArb),
  fc.tuple(fc.constant<Field>('path'), pathArb),
  fc.tuple(fc.constant<Field>('cookie'), tokenArb),
  fc.tuple(fc.constant<Field>('header'), tokenArb),
  fc.tuple(fc.constant<Field>('headerValue'), tokenArb),
  fc.tuple(fc.constant<Field>('cookieValue'), tokenArb),
  fc.tuple(fc.constant<Field>('host'), hostArb),
);

/** One host, one route with a sticky cookie split and two overrides, one endpoint; one field replaced. */
function configWith(field: Field, value: string, pathType: 'Exact' | 'Prefix'): DataplaneConfig {
  const split: Split = {
    ...sticky([['app', 1]], { cookie: { name: field === 'cookie' ? value : 'cohort' } }),
    overrides: [
      {
        header: {
          name: field === 'header' ? value : 'x-canary',
          value: field === 'headerValue' ? value : 'on',
        },
        backend: backendKey('app'),
      },
      {
        cookie: { name: 'canary', value: field === 'cookieValue' ? value : '1' },
        backend: backendKey('app'),
      },
    ],
  };
  const app = backend('app', [8080]);
  if (field === 'address') app.endpoints[0].address = value;
  const config = makeConfig({
    virtualHosts: [
      vhost(field === 'host' ? value : 'a.example', [
        route(field === 'path' ? value : '/', split, { pathType }),
      ]),
    ],
    backends: { [backendKey('app')]: app },
  });
  config.version = configVersion(config);
  return config;
}

test('property: a config the validator accepts compiles, builds its upstream pools and matches its own paths', async (t) => {
  const registry = new UpstreamRegistry({
    maxConnectionsPerEndpoint: 1,
    keepAliveTimeoutMs: 1000,
    ejectBaseMs: 100,
    ejectMaxMs: 1000,
  });
  t.after(() => registry.destroyAll());
  const contexts = new SecureContextCache();
  let accepted = 0;
  let refused = 0;
  fc.assert(
    fc.property(
      fieldArb,
      fc.constantFrom<'Exact' | 'Prefix'>('Exact', 'Prefix'),
      ([field, value], pathType) => {
        const config = configWith(field, value, pathType);
        const result = validateConfig(config);
        if (!result.ok) {
          refused++;
          // Refusals name the field, never echo internals.
          assert.match(result.errors[0], /^(virtualHosts|backends)\[/);
          return;
        }
        accepted++;
        const table = compileTable(config, { registry, contexts, fallbackContext: undefined });
        try {
          for (const b of Object.values(config.backends)) {
            for (const e of b.endpoints) {
              const up = registry.acquire('http', e.address, e.port);
              up.pool(1_000);
              registry.release(up);
            }
          }
          const vh = config.virtualHosts[0];
          const r = vh.routes[0];
          assert.equal(normalizePath(r.path), r.path, 'a route path is in the normal form requests are in');
          assert.ok(
            table.match(hostFor(vh), r.path),
            `${vh.host} ${r.path} matches a request at its own path`,
          );
          const cookie = r.split.sticky?.cookie?.name;
          if (cookie !== undefined) http.validateHeaderValue('set-cookie', `${cookie}=v; Path=/; HttpOnly`);
          for (const o of r.split.overrides) if (o.header) http.validateHeaderName(o.header.name);
        } finally {
          table.retire();
        }
      },
    ),
    { numRuns: 3_000 },
  );
  assert.ok(accepted > 100 && refused > 100, `both sides drawn (accepted ${accepted}, refused ${refused})`);
});
