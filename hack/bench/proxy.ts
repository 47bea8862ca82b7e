// Proxy benchmark (not a test): Sluice against nginx, HAProxy, Caddy, a stock
// @fastify/http-proxy server and a bare undici `dispatch` forwarder (the floor a Node proxy
// built on undici can reach), in one run with the same CPU pinning: every proxy on one core, the
// load generator (wrk) and the one backend (nginx) on the other. Each proxy runs one worker with
// upstream keep-alive and logs off. Small and 64 KiB responses, plain and over TLS; Sluice also
// with 10 and 10,000 routes, and p99 at a fixed rate of half its own maximum.
//
// Two passes: one proxy at a time (requests/s, p50, p99, CPU per request), then all proxies at
// once, each with its own wrk, comparing CPU time per request over the same seconds. On a machine
// other work shares, only the second pass gives ratios that hold from run to run.
//
//   node hack/bench/proxy.ts [--duration=10] [--warmup=2] [--connections=64] [--rounds=3]
//                            [--side-by-side-only] [--only=sluice,nginx] [--no-install] [--json=path]
//
// Installs nginx, haproxy, caddy and wrk from Debian when missing (needs root).

import { type ChildProcess, execFile, execFileSync, spawn, spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { configVersion } from '../../contract/canonical.ts';
import type { DataplaneConfig, Route, VirtualHost } from '../../contract/types.ts';
import { selfSignedCertificate } from '../../dataplane/edge/self-signed.ts';

const root = new URL('../../', import.meta.url).pathname;
const work = join(root, '.bench/proxy');
const node = join(root, 'node_modules/.bin/node');

const { values: flags } = parseArgs({
  options: {
    duration: { type: 'string', default: '10' },
    warmup: { type: 'string', default: '2' },
    connections: { type: 'string', default: '64' },
    only: { type: 'string' },
    'no-install': { type: 'boolean', default: false },
    rounds: { type: 'string', default: '3' },
    'side-by-side-only': { type: 'boolean', default: false },
    json: { type: 'string' },
  },
});
const DURATION = Number(flags.duration);
const WARMUP = Number(flags.warmup);
const CONNECTIONS = Number(flags.connections);
const ONLY = flags.only ? new Set(flags.only.split(',')) : undefined;
const ROUNDS = Number(flags.rounds);

const cpus = availableParallelism();
const PROXY_CPU = '0';
const LOAD_CPU = cpus > 1 ? '1' : '0';

const PORTS = {
  backend: 18081,
  backendTls: 18444,
  /** First proxy port; each target gets `proxy + 10 * slot` (plain) and `+ 1` (TLS). */
  proxy: 18100,
  /** Sluice's config API (ops = + 1), per slot `+ 10 * slot`. */
  sluiceConfig: 18500,
};

// ---------------------------------------------------------------------------------------------
// Tools

function have(cmd: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
}

function ensureTools(): void {
  const missing = ['nginx', 'haproxy', 'caddy', 'wrk', 'taskset'].filter((c) => !have(c));
  if (missing.length === 0) return;
  if (flags['no-install']) throw new Error(`missing tools: ${missing.join(', ')}`);
  console.log(`installing from Debian: nginx haproxy caddy wrk (missing: ${missing.join(', ')})`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  execFileSync('apt-get', ['update', '-qq'], { stdio: 'inherit', env });
  execFileSync('apt-get', ['install', '-y', '-qq', 'nginx', 'haproxy', 'caddy', 'wrk', 'util-linux'], {
    stdio: 'inherit',
    env,
  });
}

// ---------------------------------------------------------------------------------------------
// Processes

const running = new Set<ChildProcess>();

function start(
  name: string,
  cpu: string,
  cmd: string,
  args: string[],
  env: NodeJS.ProcessEnv = {},
): ChildProcess {
  const child = spawn('taskset', ['-c', cpu, cmd, ...args], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let err = '';
  child.stderr!.on('data', (d) => {
    err = (err + d).slice(-4000);
  });
  child.on('exit', (code, signal) => {
    running.delete(child);
    if (code !== 0 && signal === null) console.error(`${name} exited with ${code}: ${err.trim()}`);
  });
  running.add(child);
  return child;
}

async function stop(child: ChildProcess | undefined): Promise<void> {
  if (child === undefined || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
  await exited;
  clearTimeout(timer);
}

function cleanup(): void {
  for (const child of running) child.kill('SIGKILL');
}
process.on('exit', cleanup);
process.on('SIGINT', () => process.exit(130));

async function waitForPort(port: number, child?: ChildProcess, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child !== undefined && (child.exitCode !== null || child.signalCode !== null)) {
      throw new Error(`process for port ${port} exited`);
    }
    const ok = await new Promise<boolean>((resolve) => {
      const s = connect(port, '127.0.0.1');
      s.once('connect', () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`nothing listening on ${port}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

// ---------------------------------------------------------------------------------------------
// Configurations

function writeFiles(cert: { certPem: string; keyPem: string }): void {
  mkdirSync(join(work, 'www'), { recursive: true });
  mkdirSync(join(work, 'caddy'), { recursive: true });
  writeFileSync(join(work, 'cert.pem'), cert.certPem);
  writeFileSync(join(work, 'key.pem'), cert.keyPem);
  writeFileSync(join(work, 'combined.pem'), cert.certPem + cert.keyPem);
  writeFileSync(join(work, 'www/64k'), Buffer.alloc(64 * 1024, 'x'));
  writeFileSync(join(work, 'token'), 'bench-token\n');
  writeFileSync(
    join(work, 'backend.conf'),
    `worker_processes 1;
daemon off;
pid ${work}/backend.pid;
error_log stderr error;
events { worker_connections 16384; }
http {
  access_log off;
  keepalive_requests 10000000;
  server {
    listen 127.0.0.1:${PORTS.backend} reuseport backlog=4096;
    listen 127.0.0.1:${PORTS.backendTls} ssl backlog=4096;
    ssl_certificate ${work}/cert.pem;
    ssl_certificate_key ${work}/key.pem;
    location / { default_type text/plain; return 200 "ok\\n"; }
    location = /64k { root ${work}/www; default_type application/octet-stream; }
  }
}
`,
  );
}

function nginxProxyConf(tls: boolean, port: number): string {
  const listen = tls
    ? `listen 127.0.0.1:${port} ssl backlog=4096; ssl_certificate ${work}/cert.pem; ssl_certificate_key ${work}/key.pem;`
    : `listen 127.0.0.1:${port} backlog=4096;`;
  return `worker_processes 1;
daemon off;
pid ${work}/nginx-proxy-${port}.pid;
error_log stderr error;
events { worker_connections 16384; }
http {
  access_log off;
  keepalive_requests 10000000;
  upstream backend { server 127.0.0.1:${PORTS.backend}; keepalive 128; }
  server {
    ${listen}
    location / {
      proxy_pass http://backend;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_buffering on;
    }
  }
}
`;
}

function haproxyConf(tls: boolean, port: number): string {
  const bind = tls ? `bind 127.0.0.1:${port} ssl crt ${work}/combined.pem` : `bind 127.0.0.1:${port}`;
  return `global
  nbthread 1
  maxconn 8000
defaults
  mode http
  timeout connect 5s
  timeout client 60s
  timeout server 60s
  timeout http-keep-alive 60s
  http-reuse always
frontend f
  ${bind}
  default_backend b
backend b
  server s1 127.0.0.1:${PORTS.backend}
`;
}

function caddyfile(tls: boolean, port: number): string {
  const site = tls
    ? `https://127.0.0.1:${port} {\n  tls ${work}/cert.pem ${work}/key.pem\n  reverse_proxy 127.0.0.1:${PORTS.backend}\n}`
    : `http://127.0.0.1:${port} {\n  reverse_proxy 127.0.0.1:${PORTS.backend}\n}`;
  return `{\n  admin off\n  auto_https off\n  servers {\n    protocols h1\n  }\n}\n${site}\n`;
}

/** `hosts` hosts with `perHost` Prefix routes each, all to the one backend; plus a catch-all host. */
function sluiceConfig(hosts: number, perHost: number): DataplaneConfig {
  const policy = {
    maxBodyBytes: 1024 * 1024,
    connectTimeoutMs: 5_000,
    responseTimeoutMs: 60_000,
    upstreamProtocol: 'http' as const,
  };
  const split = {
    mode: 'weighted' as const,
    overrides: [],
    backends: [{ name: 'backend', backend: 'bench/backend:80', weight: 1 }],
  };
  const routes = (n: number, ingress: string): Route[] =>
    Array.from({ length: n }, (_, i) => ({
      path: `/p${i}`,
      pathType: 'Prefix' as const,
      source: { ingress, rule: 0, path: i },
      httpsRedirect: false,
      policy,
      split,
    })).sort((a, b) => b.path.length - a.path.length || (a.path < b.path ? -1 : 1));
  const virtualHosts: VirtualHost[] = Array.from({ length: hosts }, (_, h) => ({
    kind: 'exact' as const,
    host: `h${h}.bench`,
    routes: routes(perHost, `bench/h${h}`),
  })).sort((a, b) => (a.host < b.host ? -1 : 1));
  virtualHosts.push({
    kind: 'any',
    host: '*',
    routes: [
      {
        path: '/',
        pathType: 'Prefix',
        source: { ingress: 'bench/any', rule: 0, path: 0 },
        httpsRedirect: false,
        policy,
        split,
      },
    ],
  });
  const config: DataplaneConfig = {
    apiVersion: 'sluice.dev/dataplane/v1',
    version: '',
    virtualHosts,
    backends: {
      'bench/backend:80': {
        service: { namespace: 'bench', name: 'backend', port: '80' },
        endpoints: [
          { address: '127.0.0.1', port: PORTS.backend, ready: true, serving: true, terminating: false },
        ],
      },
    },
    certificates: {},
  };
  config.version = configVersion(config);
  return config;
}

// ---------------------------------------------------------------------------------------------
// Targets

interface Target {
  name: string;
  /** Starts the proxy for plain or TLS traffic; resolves when it accepts connections. */
  start(tls: boolean, config?: DataplaneConfig): Promise<ChildProcess | undefined>;
  port(tls: boolean): number;
}

/** Each target has its own ports, so all of them can also run at once (side-by-side mode). */
function proxyPort(slot: number, tls: boolean): number {
  return PORTS.proxy + slot * 10 + (tls ? 1 : 0);
}

/** A Node script taking `<port> <upstream> [cert key]`. */
function nodeTarget(name: string, slot: number, script: string): Target {
  return {
    name,
    async start(tls) {
      const port = proxyPort(slot, tls);
      const args = [join(root, script), String(port), `http://127.0.0.1:${PORTS.backend}`];
      if (tls) args.push(join(work, 'cert.pem'), join(work, 'key.pem'));
      const p = start(name, PROXY_CPU, node, args);
      await waitForPort(port, p);
      return p;
    },
    port: (tls) => proxyPort(slot, tls),
  };
}

/** Sluice in `slot` (its own traffic, config and ops ports), with `config` applied. */
async function startSluice(slot: number, config: DataplaneConfig): Promise<ChildProcess> {
  const configPort = PORTS.sluiceConfig + slot * 10;
  const p = start('sluice', PROXY_CPU, node, [
    join(root, 'dataplane/main.ts'),
    '--address=127.0.0.1',
    '--config-address=127.0.0.1',
    '--ops-address=127.0.0.1',
    `--http-port=${proxyPort(slot, false)}`,
    `--https-port=${proxyPort(slot, true)}`,
    `--config-port=${configPort}`,
    `--ops-port=${configPort + 1}`,
    `--config-token-file=${join(work, 'token')}`,
    `--default-cert-file=${join(work, 'cert.pem')}`,
    `--default-key-file=${join(work, 'key.pem')}`,
    '--access-log=false',
    '--log-level=warn',
  ]);
  await waitForPort(configPort, p);
  const res = await fetch(`http://127.0.0.1:${configPort}/v1/config`, {
    method: 'PUT',
    headers: { authorization: 'Bearer bench-token', 'content-type': 'application/json' },
    body: JSON.stringify(config),
  });
  if (res.status !== 200) throw new Error(`sluice refused the bench config: ${await res.text()}`);
  await waitForPort(proxyPort(slot, false), p);
  return p;
}

const targets: Target[] = [
  {
    name: 'direct',
    start: async () => undefined,
    port: (tls) => (tls ? PORTS.backendTls : PORTS.backend),
  },
  {
    name: 'nginx',
    async start(tls) {
      const port = proxyPort(1, tls);
      const file = join(work, `nginx-proxy-${port}.conf`);
      writeFileSync(file, nginxProxyConf(tls, port));
      const p = start('nginx', PROXY_CPU, 'nginx', ['-c', file, '-e', 'stderr']);
      await waitForPort(port, p);
      return p;
    },
    port: (tls) => proxyPort(1, tls),
  },
  {
    name: 'haproxy',
    async start(tls) {
      const port = proxyPort(2, tls);
      const file = join(work, `haproxy-${port}.cfg`);
      writeFileSync(file, haproxyConf(tls, port));
      const p = start('haproxy', PROXY_CPU, 'haproxy', ['-db', '-f', file]);
      await waitForPort(port, p);
      return p;
    },
    port: (tls) => proxyPort(2, tls),
  },
  {
    name: 'caddy',
    async start(tls) {
      const port = proxyPort(3, tls);
      const file = join(work, `Caddyfile-${port}`);
      writeFileSync(file, caddyfile(tls, port));
      const p = start('caddy', PROXY_CPU, 'caddy', ['run', '--config', file, '--adapter', 'caddyfile'], {
        GOMAXPROCS: '1',
        HOME: join(work, 'caddy'),
        XDG_DATA_HOME: join(work, 'caddy'),
        XDG_CONFIG_HOME: join(work, 'caddy'),
      });
      await waitForPort(port, p);
      return p;
    },
    port: (tls) => proxyPort(3, tls),
  },
  nodeTarget('fastify-http-proxy', 4, 'hack/bench/proxy/fastify-http-proxy.ts'),
  nodeTarget('undici-dispatch', 5, 'hack/bench/proxy/undici-dispatch.ts'),
  {
    name: 'sluice',
    start: (_tls, config = sluiceConfig(0, 0)) => startSluice(6, config),
    port: (tls) => proxyPort(6, tls),
  },
];

// ---------------------------------------------------------------------------------------------
// Measuring

interface Result {
  rps: number;
  p50: number;
  p99: number;
  errors: number;
  /** CPU time the proxy's processes spent per request (microseconds): robust on a busy machine. */
  cpuUs: number;
}

/** utime+stime in ms of a process and all its descendants. */
function cpuMs(pid: number | undefined): number {
  if (pid === undefined) return Number.NaN;
  const stats = new Map<number, { ppid: number; ticks: number }>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const f = readFileSync(`/proc/${entry}/stat`, 'utf8').split(') ')[1].split(' ');
      stats.set(Number(entry), { ppid: Number(f[1]), ticks: Number(f[11]) + Number(f[12]) });
    } catch {
      // the process ended while we looked
    }
  }
  let total = 0;
  const queue = [pid];
  while (queue.length > 0) {
    const p = queue.pop()!;
    total += stats.get(p)?.ticks ?? 0;
    for (const [child, s] of stats) if (s.ppid === p) queue.push(child);
  }
  return total * 10;
}

function toMs(text: string): number {
  const m = /^([\d.]+)(us|ms|s|m)$/.exec(text.trim());
  if (!m) return Number.NaN;
  const v = Number(m[1]);
  return m[2] === 'us' ? v / 1000 : m[2] === 'ms' ? v : m[2] === 's' ? v * 1000 : v * 60_000;
}

function wrkArgs(url: string, seconds: number, host?: string): string[] {
  const args = [
    '-c',
    LOAD_CPU,
    'wrk',
    '-t1',
    `-c${CONNECTIONS}`,
    `-d${seconds}s`,
    '--latency',
    '--timeout',
    '5s',
  ];
  if (host) args.push('-H', `Host: ${host}`);
  args.push(url);
  return args;
}

/** wrk's summary; `cpuUs` holds the request count until `measure` turns it into CPU per request. */
function parseWrk(out: string): Result {
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1] ?? Number.NaN);
  const p50 = toMs(/^\s+50%\s+(\S+)/m.exec(out)?.[1] ?? '');
  const p99 = toMs(/^\s+99%\s+(\S+)/m.exec(out)?.[1] ?? '');
  const non2xx = Number(/Non-2xx or 3xx responses:\s+(\d+)/.exec(out)?.[1] ?? 0);
  const sock = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
  const errors = non2xx + (sock ? sock.slice(1).reduce((a, b) => a + Number(b), 0) : 0);
  const requests = Number(/(\d+) requests in/.exec(out)?.[1] ?? Number.NaN);
  return { rps, p50, p99, errors, cpuUs: requests };
}

function wrk(url: string, seconds: number, host?: string): Result {
  return parseWrk(execFileSync('taskset', wrkArgs(url, seconds, host), { encoding: 'utf8' }));
}

function wrkAsync(url: string, seconds: number, host?: string): Promise<Result> {
  return new Promise((resolve, reject) =>
    execFile('taskset', wrkArgs(url, seconds, host), { encoding: 'utf8' }, (err, out) =>
      err ? reject(err) : resolve(parseWrk(out)),
    ),
  );
}

/**
 * All proxies at once, each loaded by its own wrk, CPU time per request measured over the same
 * seconds: whatever else runs on the machine hits every proxy alike, so the ratios hold even on a
 * busy machine. Median of `rounds`.
 */
async function sideBySide(tls: boolean, path: string, rounds: number): Promise<Record<string, Result>> {
  const live = targets.filter((t) => t.name !== 'direct');
  const procs = new Map<string, ChildProcess | undefined>();
  try {
    for (const t of live) procs.set(t.name, await t.start(tls));
    const url = (t: Target) => `${tls ? 'https' : 'http'}://127.0.0.1:${t.port(tls)}${path}`;
    return await measureTogether(
      live.map((t) => ({ name: t.name, url: url(t), proc: procs.get(t.name) })),
      rounds,
    );
  } finally {
    for (const p of procs.values()) await stop(p);
  }
}

/** Loads every entry at once with its own wrk; CPU per request over the same seconds, median of `rounds`. */
async function measureTogether(
  runs: Array<{ name: string; url: string; host?: string; proc: ChildProcess | undefined }>,
  rounds: number,
): Promise<Record<string, Result>> {
  const perRound: Record<string, Result[]> = {};
  // Each process gets a fraction of the core here: warm up long enough for every JIT to settle.
  await Promise.all(runs.map((r) => wrkAsync(r.url, Math.max(WARMUP, DURATION), r.host)));
  for (let round = 0; round < rounds; round++) {
    if (WARMUP > 0) await Promise.all(runs.map((r) => wrkAsync(r.url, WARMUP, r.host)));
    const before = runs.map((r) => cpuMs(r.proc?.pid));
    const outs = await Promise.all(runs.map((r) => wrkAsync(r.url, DURATION, r.host)));
    runs.forEach((r, k) => {
      const used = cpuMs(r.proc?.pid) - before[k];
      const list = perRound[r.name] ?? [];
      list.push({ ...outs[k], cpuUs: (used * 1000) / outs[k].cpuUs });
      perRound[r.name] = list;
    });
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  return Object.fromEntries(
    Object.entries(perRound).map(([name, rs]) => [
      name,
      {
        rps: median(rs.map((x) => x.rps)),
        p50: median(rs.map((x) => x.p50)),
        p99: median(rs.map((x) => x.p99)),
        errors: rs.reduce((a, x) => a + x.errors, 0),
        cpuUs: median(rs.map((x) => x.cpuUs)),
      },
    ]),
  );
}

/** 10 and 10,000 routes, two Sluice processes at once: the same request, the same seconds. */
async function routesSideBySide(rounds: number): Promise<Record<string, Result>> {
  const small = await startSluice(7, sluiceConfig(1, 10));
  const large = await startSluice(8, sluiceConfig(1000, 10)).catch(async (err) => {
    await stop(small);
    throw err;
  });
  try {
    return await measureTogether(
      [
        {
          name: '10 routes',
          url: `http://127.0.0.1:${proxyPort(7, false)}/p5/x`,
          host: 'h0.bench',
          proc: small,
        },
        {
          name: '10,000 routes',
          url: `http://127.0.0.1:${proxyPort(8, false)}/p5/x`,
          host: 'h500.bench',
          proc: large,
        },
      ],
      rounds,
    );
  } finally {
    await stop(small);
    await stop(large);
  }
}

function measure(url: string, proc: ChildProcess | undefined, host?: string): Result {
  if (WARMUP > 0) wrk(url, WARMUP, host);
  const before = cpuMs(proc?.pid);
  const r = wrk(url, DURATION, host);
  const used = cpuMs(proc?.pid) - before;
  return { ...r, cpuUs: (used * 1000) / r.cpuUs };
}

function fixedRate(
  url: string,
  rate: number,
  seconds: number,
): { p50: number; p99: number; completed: number; errors: number } {
  const out = execFileSync(
    'taskset',
    [
      '-c',
      LOAD_CPU,
      node,
      join(root, 'hack/bench/proxy/fixed-rate.ts'),
      url,
      String(rate),
      String(seconds),
      String(CONNECTIONS),
    ],
    { encoding: 'utf8' },
  );
  return JSON.parse(out.trim().split('\n').at(-1)!);
}

// ---------------------------------------------------------------------------------------------
// Run

const scenarios = [
  { name: 'small, plain', tls: false, path: '/' },
  { name: '64 KiB, plain', tls: false, path: '/64k' },
  { name: 'small, TLS', tls: true, path: '/' },
  { name: '64 KiB, TLS', tls: true, path: '/64k' },
];

ensureTools();
mkdirSync(work, { recursive: true });
writeFiles(await selfSignedCertificate({ commonName: '127.0.0.1', names: ['127.0.0.1', 'localhost'] }));

console.log(
  `proxy on CPU ${PROXY_CPU}, wrk and backend on CPU ${LOAD_CPU}; wrk -t1 -c${CONNECTIONS}, ${WARMUP}s warm-up + ${DURATION}s per run`,
);
const backend = start('backend nginx', LOAD_CPU, 'nginx', ['-c', join(work, 'backend.conf'), '-e', 'stderr']);
await waitForPort(PORTS.backend, backend);
await waitForPort(PORTS.backendTls, backend);

const results: Record<string, Record<string, Result>> = {};
const routeRuns: Record<string, Result> = {};
const side: Record<string, Record<string, Result>> = {};
let routesSide: Record<string, Result> = {};
let fixed: (ReturnType<typeof fixedRate> & { rate: number }) | undefined;
const sluice = targets.find((t) => t.name === 'sluice')!;
try {
  if (!flags['side-by-side-only']) {
    console.log('\none proxy at a time:');
    for (const scenario of scenarios) {
      results[scenario.name] = {};
      for (const target of targets) {
        if (ONLY && !ONLY.has(target.name) && target.name !== 'sluice') continue;
        const proc = await target.start(scenario.tls);
        try {
          const url = `${scenario.tls ? 'https' : 'http'}://127.0.0.1:${target.port(scenario.tls)}${scenario.path}`;
          const r = measure(url, proc);
          results[scenario.name][target.name] = r;
          console.log(
            `  ${scenario.name.padEnd(14)} ${target.name.padEnd(19)} ${fmtRps(r.rps)} req/s  p50 ${fmtMs(r.p50)}  p99 ${fmtMs(r.p99)}  cpu ${fmtUs(r.cpuUs)}/req${r.errors ? `  errors ${r.errors}` : ''}`,
          );
        } finally {
          await stop(proc);
        }
      }
    }

    // Route count: the same request among 10 and among 10,000 routes.
    for (const [label, config] of [
      ['10 routes', sluiceConfig(1, 10)],
      ['10,000 routes', sluiceConfig(1000, 10)],
    ] as const) {
      const proc = await sluice.start(false, config);
      try {
        routeRuns[label] = measure(
          `http://127.0.0.1:${sluice.port(false)}/p5/x`,
          proc,
          label === '10 routes' ? 'h0.bench' : 'h500.bench',
        );
        const r = routeRuns[label];
        console.log(
          `  sluice ${label.padEnd(14)} ${fmtRps(r.rps)} req/s  p99 ${fmtMs(r.p99)}  cpu ${fmtUs(r.cpuUs)}/req`,
        );
      } finally {
        await stop(proc);
      }
    }

    // p99 at half of Sluice's own maximum (small, plain).
    const rate = Math.floor(results['small, plain'].sluice.rps / 2);
    const proc = await sluice.start(false);
    try {
      fixedRate(`http://127.0.0.1:${sluice.port(false)}/`, rate, WARMUP || 1);
      fixed = { rate, ...fixedRate(`http://127.0.0.1:${sluice.port(false)}/`, rate, DURATION) };
    } finally {
      await stop(proc);
    }
  }

  console.log(`\nall proxies at once, ${ROUNDS} rounds:`);
  for (const scenario of scenarios) {
    if (ONLY) break;
    side[scenario.name] = await sideBySide(scenario.tls, scenario.path, ROUNDS);
    for (const [name, r] of Object.entries(side[scenario.name])) {
      console.log(`  ${scenario.name.padEnd(14)} ${name.padEnd(19)} cpu ${fmtUs(r.cpuUs)}/req`);
    }
  }

  if (!ONLY) {
    routesSide = await routesSideBySide(ROUNDS);
    for (const [name, r] of Object.entries(routesSide))
      console.log(`  sluice ${name.padEnd(14)} cpu ${fmtUs(r.cpuUs)}/req`);
  }

  report(results, routeRuns, fixed, side, routesSide);
  if (flags.json) {
    writeFileSync(flags.json, JSON.stringify({ results, routeRuns, fixed, side, routesSide }, null, 2));
  }
} finally {
  await stop(backend);
}

function fmtRps(v: number): string {
  return Number.isFinite(v) ? Math.round(v).toLocaleString('en-US').padStart(8) : '     n/a';
}

function fmtUs(v: number): string {
  return Number.isFinite(v) ? `${v.toFixed(0)} µs`.padStart(7) : '    n/a';
}

function fmtMs(v: number): string {
  return Number.isFinite(v) ? `${v.toFixed(2)} ms`.padStart(9) : '      n/a';
}

function report(
  all: Record<string, Record<string, Result>>,
  routeRuns: Record<string, Result>,
  fixed: (ReturnType<typeof fixedRate> & { rate: number }) | undefined,
  side: Record<string, Record<string, Result>>,
  routesSide: Record<string, Result>,
): void {
  const ratio = (a: number, b: number) =>
    Number.isFinite(a) && Number.isFinite(b) ? `${(a / b).toFixed(2)}x` : 'n/a';
  if (Object.keys(all).length > 0) {
    console.log('\n## One proxy at a time\n');
    console.log('req/s, p50 and p99 as wrk measured them; CPU µs/req: CPU time of the proxy process(es) per');
    console.log('request. Ratios: Sluice ÷ that row (req/s), and that row ÷ Sluice (CPU per request).\n');
    for (const [scenario, rows] of Object.entries(all)) {
      const s = rows.sluice;
      console.log(`### ${scenario}\n`);
      console.log('| server | req/s | p50 | p99 | Sluice ÷ this | CPU µs/req | ratio per CPU |');
      console.log('|---|---:|---:|---:|---:|---:|---:|');
      for (const [name, r] of Object.entries(rows)) {
        const me = name === 'sluice';
        const cells = [
          name,
          String(Math.round(r.rps)),
          `${r.p50.toFixed(2)} ms`,
          `${r.p99.toFixed(2)} ms`,
          me ? '—' : ratio(s.rps, r.rps),
          Number.isFinite(r.cpuUs) ? r.cpuUs.toFixed(0) : 'n/a',
          me ? '—' : ratio(r.cpuUs, s.cpuUs),
        ];
        console.log(`| ${cells.join(' | ')} |`);
      }
      console.log('');
    }
  }
  if (Object.keys(side).length > 0) {
    console.log('## All proxies at once (same seconds, same machine load)\n');
    console.log('Median of the rounds. req/s per CPU = 1e6 / CPU µs per request: what one fully used core');
    console.log('would serve. Sluice ÷ this compares those capacities.\n');
    for (const [scenario, rows] of Object.entries(side)) {
      const s = rows.sluice;
      console.log(`### ${scenario}\n`);
      console.log('| server | CPU µs/req | req/s per CPU | Sluice ÷ this |');
      console.log('|---|---:|---:|---:|');
      for (const [name, r] of Object.entries(rows)) {
        const cells = [
          name,
          r.cpuUs.toFixed(0),
          String(Math.round(1e6 / r.cpuUs)),
          name === 'sluice' ? '—' : ratio(r.cpuUs, s.cpuUs),
        ];
        console.log(`| ${cells.join(' | ')} |`);
      }
      console.log('');
    }
  }
  const routeDeltas: string[] = [];
  let routesOk: boolean | undefined;
  const sTen = routesSide['10 routes'];
  const sTenK = routesSide['10,000 routes'];
  if (sTen && sTenK && Number.isFinite(sTen.cpuUs) && Number.isFinite(sTenK.cpuUs)) {
    routeDeltas.push(`${((sTen.cpuUs / sTenK.cpuUs - 1) * 100).toFixed(1)}% per CPU side by side`);
    routesOk = sTen.cpuUs >= 0.95 * sTenK.cpuUs;
  }
  const ten = routeRuns['10 routes'];
  const tenK = routeRuns['10,000 routes'];
  if (ten && tenK) {
    routeDeltas.push(`${((tenK.rps / ten.rps - 1) * 100).toFixed(1)}% req/s one at a time`);
    routesOk ??= tenK.rps >= 0.95 * ten.rps;
  }
  if (routeDeltas.length > 0) {
    console.log('### Route count (small, plain)\n');
    console.log(
      '| Sluice | req/s (alone) | p50 (alone) | p99 (alone) | CPU µs/req (alone) | CPU µs/req (side by side) |',
    );
    console.log('|---|---:|---:|---:|---:|---:|');
    for (const label of ['10 routes', '10,000 routes']) {
      const r = routeRuns[label];
      const sb = routesSide[label];
      const cells = [
        label,
        r ? String(Math.round(r.rps)) : 'n/a',
        r ? `${r.p50.toFixed(2)} ms` : 'n/a',
        r ? `${r.p99.toFixed(2)} ms` : 'n/a',
        r ? r.cpuUs.toFixed(0) : 'n/a',
        sb ? sb.cpuUs.toFixed(0) : 'n/a',
      ];
      console.log(`| ${cells.join(' | ')} |`);
    }
    console.log(`\n10,000 routes vs 10: ${routeDeltas.join(', ')}\n`);
  }
  if (fixed) {
    console.log('### Fixed rate\n');
    console.log(
      `Sluice at ${fixed.rate} req/s (half its measured maximum), open loop: p50 ${fixed.p50.toFixed(2)} ms, p99 ${fixed.p99.toFixed(2)} ms, ${fixed.completed} completed, ${fixed.errors} errors\n`,
    );
  }
  const goal = (label: string, ok: boolean, detail: string) =>
    console.log(`- ${ok ? 'met' : 'NOT met'}: ${label} (${detail})`);
  console.log('### Goals (small responses, plain HTTP)\n');
  const small = all['small, plain'];
  const smallSide = side['small, plain'];
  // Pass or fail by the side-by-side figures when there are any: the one-at-a-time ones move
  // with whatever else the machine is doing.
  const peerGoal = (peer: string, label: string, factor: number) => {
    const parts: string[] = [];
    let ok: boolean | undefined;
    const usable = (r: Result | undefined) => r !== undefined && Number.isFinite(r.cpuUs) && r.cpuUs > 0;
    if (usable(smallSide?.[peer]) && usable(smallSide?.sluice)) {
      parts.push(`${ratio(smallSide[peer].cpuUs, smallSide.sluice.cpuUs)} per CPU side by side`);
      ok = smallSide[peer].cpuUs >= factor * smallSide.sluice.cpuUs;
    }
    if (small?.[peer]) {
      parts.push(`${ratio(small.sluice.rps, small[peer].rps)} req/s one at a time`);
      ok ??= small.sluice.rps >= factor * small[peer].rps;
    }
    if (ok !== undefined) goal(label, ok, parts.join(', '));
  };
  peerGoal('caddy', '>= 1.3x Caddy', 1.3);
  peerGoal('fastify-http-proxy', '>= 1.5x stock @fastify/http-proxy', 1.5);
  if (smallSide?.nginx)
    console.log(`- for reference: ${ratio(smallSide.nginx.cpuUs, smallSide.sluice.cpuUs)} nginx per CPU`);
  if (smallSide?.['undici-dispatch']) {
    console.log(
      `- for reference: ${ratio(smallSide['undici-dispatch'].cpuUs, smallSide.sluice.cpuUs)} a bare undici dispatch forwarder per CPU`,
    );
  }
  if (fixed) goal('p99 under 2 ms at the fixed rate', fixed.p99 < 2, `${fixed.p99.toFixed(2)} ms`);
  if (routesOk !== undefined) goal('10,000 routes within 5% of 10', routesOk, routeDeltas.join(', '));
}
