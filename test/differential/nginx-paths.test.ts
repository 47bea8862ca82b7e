// Differential test: real nginx, configured by hand as ingress-nginx configures it for the
// Ingresses of the nginx-paths-regex-mode and nginx-paths-rewrite golden cases (regex locations in
// its order, `rewrite ... break`, X-Forwarded-Prefix), against Sluice's data plane serving the
// config the compiler made of the same Ingresses (the goldens' output). The same requests go to
// both; each must reach the same backend with the same upstream path and query.

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

/** What ingress-nginx writes for these Ingresses (servers and locations only). */
function nginxConf(dir: string, port: number, up: Record<string, number>): string {
  const proxy = (svc: string) => `proxy_set_header Host $http_host; proxy_pass http://${svc};`;
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
  upstream api { server 127.0.0.1:${up.api}; }
  upstream web { server 127.0.0.1:${up.web}; }
  upstream json { server 127.0.0.1:${up.json}; }
  server {
    listen 127.0.0.1:${port} default_server;
    server_name _;
    return 404;
  }
  # use-regex on shop/api: every location of the server is a regex. shop/web's Prefix path
  # /api/v1/users is split into /api/v1/users/ and /api/v1/users (updateServerLocations).
  # Sorted by length, then path, descending.
  server {
    listen 127.0.0.1:${port};
    server_name shop.example.com;
    location ~* "^/api/v[0-9]+/users" { ${proxy('api')} }
    location ~* "^/api/v1/users/" { ${proxy('web')} }
    location ~* "^/api/v1/users" { ${proxy('web')} }
    location ~* "^/api/.*\\.json" { ${proxy('json')} }
    location ~* "^/static" { ${proxy('api')} }
    location ~* "^/health" { ${proxy('web')} }
    location ~* "^/" { ${proxy('web')} }
  }
  server {
    listen 127.0.0.1:${port};
    server_name plain.example.com;
    location = /x { ${proxy('web')} }
    location /x/ { ${proxy('web')} }
  }
  server {
    listen 127.0.0.1:${port};
    server_name rewrite.example.com;
    location ~* "^/something(/|$)(.*)" {
      rewrite "(?i)/something(/|$)(.*)" /$2 break;
      proxy_set_header X-Forwarded-Prefix "/something";
      ${proxy('api')}
    }
  }
  server {
    listen 127.0.0.1:${port};
    server_name query.example.com;
    location ~* "^/find/([a-z]+)" { rewrite "(?i)/find/([a-z]+)" /search?q=$1 break; ${proxy('api')} }
    location ~* "^/Plain" { rewrite "(?i)/Plain" /search?q=$1 break; ${proxy('web')} }
  }
}
`;
}

/** The compiler's config for a golden case, with its endpoints moved to loopback backends. */
function compiled(name: string, up: Record<string, number>): DataplaneConfig {
  const out = JSON.parse(readFileSync(join(TESTDATA, `nginx-paths-${name}.out.json`), 'utf8'));
  const config = out.config as DataplaneConfig;
  for (const [key, b] of Object.entries(config.backends)) {
    b.endpoints = [
      { address: '127.0.0.1', port: up[b.service.name], ready: true, serving: true, terminating: false },
    ];
    config.backends[key] = b;
  }
  return config;
}

function merge(a: DataplaneConfig, b: DataplaneConfig): DataplaneConfig {
  const config: DataplaneConfig = {
    ...a,
    version: '',
    backends: { ...a.backends, ...b.backends },
    virtualHosts: [...a.virtualHosts, ...b.virtualHosts].sort((x, y) => (x.host < y.host ? -1 : 1)),
  };
  config.version = configVersion(config);
  return config;
}

const REQUESTS: Array<[host: string, path: string]> = [
  ['shop.example.com', '/api/v2/users'],
  ['shop.example.com', '/API/V22/Users/7?x=1'],
  ['shop.example.com', '/api/v1/users'],
  ['shop.example.com', '/api/v1/users/9'],
  ['shop.example.com', '/api/v1/usersX'],
  ['shop.example.com', '/api/v2/users.json'],
  ['shop.example.com', '/api/x/data.json'],
  ['shop.example.com', '/api/x/data.JSON?y=2'],
  ['shop.example.com', '/static/app.js'],
  ['shop.example.com', '/staticky'],
  ['shop.example.com', '/HEALTH'],
  ['shop.example.com', '/healthz'],
  ['shop.example.com', '/other'],
  ['shop.example.com', '/'],
  ['plain.example.com', '/x'],
  ['plain.example.com', '/x/y'],
  ['rewrite.example.com', '/something'],
  ['rewrite.example.com', '/something/'],
  ['rewrite.example.com', '/something/new/page?x=1&y=2'],
  ['rewrite.example.com', '/SomeThing/Mixed/Case'],
  ['query.example.com', '/find/abc'],
  ['query.example.com', '/find/abc?page=2'],
  ['query.example.com', '/FIND/Abc/more'],
  ['query.example.com', '/plain'],
];

/** Which backend got the last request and with what target and prefix header. */
function last(backends: Record<string, TestBackend>, before: Record<string, number>) {
  for (const [name, b] of Object.entries(backends)) {
    if (b.seen.length > before[name]) {
      const s = b.seen.at(-1)!;
      return { backend: name, url: s.url, prefix: s.headers['x-forwarded-prefix'] };
    }
  }
  return undefined;
}

test('regex locations, their order and rewrite-target: Sluice routes as nginx configured by ingress-nginx does', async (t) => {
  assert.ok(
    existsSync(NGINX),
    `${NGINX} is required for the differential test (apt-get install nginx-light)`,
  );
  const backends: Record<string, TestBackend> = {
    api: await startBackend(t, 'api'),
    web: await startBackend(t, 'web'),
    json: await startBackend(t, 'json'),
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
  // Wait until nginx answers (or fails to start).
  for (let i = 0; ; i++) {
    if (nginx.exitCode !== null) assert.fail(`nginx exited: ${stderr}`);
    try {
      await request(port, { path: '/', host: 'nobody.example' });
      break;
    } catch {
      assert.ok(i < 200, `nginx did not answer: ${stderr}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  const dp = await startTestDataplane(t);
  const pushed = await dp.push(merge(compiled('regex-mode', up), compiled('rewrite', up)));
  assert.equal(pushed.status, 200, JSON.stringify(pushed.body));

  const answers: unknown[] = [];
  for (const [host, path] of REQUESTS) {
    const counts = () => Object.fromEntries(Object.entries(backends).map(([n, b]) => [n, b.seen.length]));
    let before = counts();
    const viaNginx = await request(port, { host, path, headers: { 'x-forwarded-prefix': '/client' } });
    const n = viaNginx.status === 200 ? last(backends, before) : { status: viaNginx.status };
    before = counts();
    const viaSluice = await request(dp.ports.http, {
      host,
      path,
      headers: { 'x-forwarded-prefix': '/client' },
    });
    const s = viaSluice.status === 200 ? last(backends, before) : { status: viaSluice.status };
    assert.deepEqual(s, n, `${host}${path}`);
    answers.push(n);
  }
  // The requests exercise every backend and the rewrites (the comparison is not of nothing).
  const text = JSON.stringify(answers);
  for (const want of [
    '"backend":"api"',
    '"backend":"web"',
    '"backend":"json"',
    '"url":"/search?q=abc&page=2"',
    '"prefix":"/something"',
    '"url":"/new/page?x=1&y=2"',
  ])
    assert.ok(text.includes(want), `${want} in ${text}`);
});
