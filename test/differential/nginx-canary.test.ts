// Differential test: real nginx, configured by hand to decide as ingress-nginx's balancer does
// for a canary (header always/never or exact value, then cookie always/never, then weight), against
// Sluice's data plane serving the compiler's config for the nginx-canary-precedence and
// nginx-canary-header-value golden cases. Requests a header or cookie decides must reach the same
// backend; weight-decided ones (random in nginx) must reach one of the two.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { type AddressInfo, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { configVersion } from '../../contract/canonical.ts';
import type { DataplaneConfig } from '../../contract/types.ts';
import { request, startBackend, startTestDataplane, type TestBackend } from '../../dataplane/testing/net.ts';

const NGINX = '/usr/sbin/nginx';
const TESTDATA = join(import.meta.dirname, '../../operator/compile/ingress/testdata');

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** The balancer's decision as maps: header first, then cookie, then the weight. */
function nginxConf(dir: string, port: number, up: Record<string, number>): string {
  return `daemon off;
master_process off;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log;
events { worker_connections 64; }
http {
  access_log off;
  client_body_temp_path ${dir}/tmp/body;
  proxy_temp_path ${dir}/tmp/proxy;
  fastcgi_temp_path ${dir}/tmp/fastcgi;
  uwsgi_temp_path ${dir}/tmp/uwsgi;
  scgi_temp_path ${dir}/tmp/scgi;
  upstream web { server 127.0.0.1:${up.web}; }
  upstream web-canary { server 127.0.0.1:${up['web-canary']}; }
  # precedence: canary-by-header x-canary, canary-by-cookie canary, canary-weight 30
  map $http_x_canary $by_header { always web-canary; never web; default ""; }
  map $cookie_canary $by_cookie { always web-canary; never web; default ""; }
  split_clients "$request_id" $by_weight { 30% web-canary; * web; }
  map "$by_header:$by_cookie" $precedence {
    "~^(?<h>[a-z-]+):" $h;
    "~^:(?<c>[a-z-]+)$" $c;
    default $by_weight;
  }
  # header-value: canary-by-header x-region, canary-by-header-value eu-west, weight 0
  map $http_x_region $by_value { eu-west web-canary; default web; }
  server {
    listen 127.0.0.1:${port};
    server_name precedence.example;
    location / { proxy_pass http://$precedence; }
  }
  server {
    listen 127.0.0.1:${port};
    server_name value.example;
    location / { proxy_pass http://$by_value; }
  }
}
`;
}

function compiled(name: string, up: Record<string, number>): DataplaneConfig {
  const out = JSON.parse(readFileSync(join(TESTDATA, `nginx-canary-${name}.out.json`), 'utf8'));
  const config = out.config as DataplaneConfig;
  for (const b of Object.values(config.backends)) {
    b.endpoints = [
      { address: '127.0.0.1', port: up[b.service.name], ready: true, serving: true, terminating: false },
    ];
  }
  config.version = configVersion({ ...config, version: '' });
  return config;
}

type Case = [headers: Record<string, string>, decided: boolean];

const CASES: Record<string, Case[]> = {
  precedence: [
    [{ 'x-canary': 'always' }, true],
    [{ 'x-canary': 'never' }, true],
    [{ 'x-canary': 'never', cookie: 'canary=always' }, true],
    [{ 'x-canary': 'always', cookie: 'canary=never' }, true],
    [{ 'x-canary': 'other', cookie: 'canary=always' }, true],
    [{ cookie: 'canary=never' }, true],
    [{ cookie: 'x=1; canary=always' }, true],
    [{ cookie: 'canary=maybe' }, false],
    [{}, false],
  ],
  'header-value': [
    [{ 'x-region': 'eu-west' }, true],
    [{ 'x-region': 'eu-west-1' }, true],
    [{ 'x-region': 'always' }, true],
    [{ 'x-region': 'never' }, true],
    [{}, true],
  ],
};

test('canary precedence: Sluice decides as nginx configured like ingress-nginx does', async (t) => {
  assert.ok(
    existsSync(NGINX),
    `${NGINX} is required for the differential test (apt-get install nginx-light)`,
  );
  const backends: Record<string, TestBackend> = {
    web: await startBackend(t, 'web'),
    'web-canary': await startBackend(t, 'web-canary'),
  };
  const up = Object.fromEntries(Object.entries(backends).map(([n, b]) => [n, b.port]));
  const dir = mkdtempSync(join(tmpdir(), 'sluice-nginx-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  mkdirSync(join(dir, 'tmp'));
  const port = await freePort();
  writeFileSync(join(dir, 'nginx.conf'), nginxConf(dir, port, up));
  const nginx = spawn(NGINX, ['-p', dir, '-c', join(dir, 'nginx.conf'), '-e', join(dir, 'error.log')], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  nginx.stderr.on('data', (d) => {
    stderr += d;
  });
  const exited = new Promise((resolve) => nginx.once('exit', resolve));
  t.after(async () => {
    if (nginx.exitCode === null) nginx.kill('SIGTERM');
    await exited;
  });
  for (let i = 0; ; i++) {
    if (nginx.exitCode !== null) assert.fail(`nginx exited: ${stderr}`);
    try {
      await request(port, { path: '/', host: 'value.example' });
      break;
    } catch {
      assert.ok(i < 200, `nginx did not answer: ${stderr}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  const dp = await startTestDataplane(t);
  const seen = new Set<string>();
  for (const [name, cases] of Object.entries(CASES)) {
    const pushed = await dp.push(compiled(name, up));
    assert.equal(pushed.status, 200, JSON.stringify(pushed.body));
    for (const [headers, decided] of cases) {
      const viaNginx = await request(port, {
        host: `${name === 'precedence' ? 'precedence' : 'value'}.example`,
        headers,
      });
      const viaSluice = await request(dp.ports.http, { host: 'shop.example.com', headers });
      assert.equal(viaNginx.status, 200, stderr);
      assert.equal(viaSluice.status, 200);
      const n = viaNginx.headers['x-backend'] as string;
      const s = viaSluice.headers['x-backend'] as string;
      const what = `${name} ${JSON.stringify(headers)}`;
      if (decided) assert.equal(s, n, what);
      else assert.ok(['web', 'web-canary'].includes(s) && ['web', 'web-canary'].includes(n), what);
      seen.add(`${name}:${n}`);
    }
  }
  // Both backends are reached through both cases (the comparison is not of nothing).
  for (const want of [
    'precedence:web',
    'precedence:web-canary',
    'header-value:web',
    'header-value:web-canary',
  ])
    assert.ok(seen.has(want), `${want} in ${[...seen].join(' ')}`);
});
