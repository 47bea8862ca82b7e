// The fuzz harness: a real data-plane process (`node dataplane/main.ts`), live backends in this
// process, a routed config, a runner that writes a case's bytes on a raw socket, and the oracle
// checked after every case:
//
// - the process is alive and /healthz answers;
// - no answer is a 500 and no `100 Continue` precedes a 413 (the body was asked for, then refused);
// - every request a backend saw is one the routing table allows for it: its host and normalised
//   path match the backend's route, method is not CONNECT or TRACE, X-Forwarded-For and
//   X-Real-IP are the proxy's, no header name has an underscore, no hop-by-hop header or Expect
//   got through, no body above the route's limit, and no bytes were tunnelled after a non-101
//   answer to an upgrade;
// - a normal request to each route still gets 200 from the right backend;
// - `sluice_upstream_connections_in_use` (summed over endpoints) returns to 0 within a bounded poll.
//
// After a failure that leaves state behind (a crash, a leak, a broken route) the next case gets
// a fresh process, so a shrunk counterexample fails on its own merits.

import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import { connect as netConnect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect as tlsConnect } from 'node:tls';
import {
  backend,
  backendKey,
  makeConfig,
  route,
  vhost,
  weighted,
} from '../../../contract/testing/fixtures.ts';
import type { DataplaneConfig } from '../../../contract/types.ts';
import { type CertificatePem, selfSignedCertificate } from '../../edge/self-signed.ts';
import { loopbackFlags } from '../net.ts';
import { type BackendKind, type FuzzBackend, type SeenRequest, startFuzzBackend } from './backends.ts';
import { FUZZ_HOST, type FuzzCase, h1Bytes, h2Chunks, OTHER_HOST, SECURE_HOST } from './cases.ts';

const root = new URL('../../../', import.meta.url).pathname;
const nodeBin = join(root, 'node_modules/.bin/node');
const mainTs = join(root, 'dataplane/main.ts');
const TOKEN = 'fuzz-token-0123456789';
export const UPLOAD_LIMIT = 1024;
const METRIC = 'sluice_upstream_connections_in_use';

/** What each backend serves: the only requests it may ever see. */
interface RouteSpec {
  backend: string;
  kind: BackendKind;
  host: string;
  path: string;
  pathType: 'Exact' | 'Prefix';
  maxBodyBytes?: number;
}

export const ROUTES: RouteSpec[] = [
  { backend: 'exact', kind: 'plain', host: FUZZ_HOST, path: '/exact', pathType: 'Exact' },
  { backend: 'prefix', kind: 'plain', host: FUZZ_HOST, path: '/pre', pathType: 'Prefix' },
  { backend: 'ws', kind: 'websocket', host: FUZZ_HOST, path: '/ws', pathType: 'Prefix' },
  { backend: 'ws200', kind: 'websocket-200', host: FUZZ_HOST, path: '/ws200', pathType: 'Prefix' },
  { backend: 'slow', kind: 'slow', host: FUZZ_HOST, path: '/slow', pathType: 'Prefix' },
  {
    backend: 'upload',
    kind: 'plain',
    host: FUZZ_HOST,
    path: '/upload',
    pathType: 'Exact',
    maxBodyBytes: UPLOAD_LIMIT,
  },
  { backend: 'other', kind: 'plain', host: OTHER_HOST, path: '/', pathType: 'Prefix' },
  { backend: 'secure', kind: 'plain', host: SECURE_HOST, path: '/', pathType: 'Prefix' },
];

export interface Problem {
  /** Short class of the finding, for grouping: "crash", "in-use gauge", "route", "backend saw". */
  kind: string;
  detail: string;
}

export class FuzzFailure extends Error {
  readonly problems: Problem[];
  constructor(problems: Problem[]) {
    super(problems.map((p) => `[${p.kind}] ${p.detail}`).join('\n'));
    this.problems = problems;
  }
}

interface Proc {
  child: ChildProcess;
  ports: { http: number; https: number; config: number; ops: number };
  exited: Promise<void>;
  output(): string;
}

export interface HarnessOptions {
  /** Longest wait for the in-use gauge to return to 0. */
  gaugeTimeoutMs?: number;
  /** A case's socket is closed once nothing arrived for this long. */
  idleMs?: number;
  log?: (line: string) => void;
}

export class FuzzHarness {
  readonly seen: SeenRequest[] = [];
  /** Cases run so far (for cases per minute). */
  cases = 0;
  /** True once /metrics was scraped without the in-use gauge: it counted as 0. */
  metricMissing = false;
  private checked = 0;
  private queue: Promise<void> = Promise.resolve();
  private stopped = false;
  private backends: FuzzBackend[] = [];
  private proc: Proc | undefined;
  private fresh = false;
  private dir = mkdtempSync(join(tmpdir(), 'sluice-fuzz-'));
  private config: DataplaneConfig | undefined;
  private cert: CertificatePem | undefined;
  private readonly gaugeTimeoutMs: number;
  private readonly idleMs: number;
  private readonly log: (line: string) => void;

  constructor(opts: HarnessOptions = {}) {
    this.gaugeTimeoutMs = opts.gaugeTimeoutMs ?? 10_000;
    this.idleMs = opts.idleMs ?? 150;
    this.log = opts.log ?? (() => {});
    writeFileSync(join(this.dir, 'token'), TOKEN);
  }

  async start(): Promise<void> {
    this.cert = await selfSignedCertificate({ commonName: SECURE_HOST, names: [SECURE_HOST] });
    for (const r of ROUTES) this.backends.push(await startFuzzBackend(r.backend, r.kind, this.seen));
    const port = (name: string) => this.backends.find((b) => b.name === name)!.port;
    const byHost = new Map<string, RouteSpec[]>();
    for (const r of ROUTES) byHost.set(r.host, [...(byHost.get(r.host) ?? []), r]);
    this.config = makeConfig({
      virtualHosts: [...byHost].map(([host, specs]) =>
        vhost(
          host,
          specs.map((s) =>
            route(s.path, weighted([[s.backend, 1]]), {
              pathType: s.pathType,
              policy: s.maxBodyBytes === undefined ? {} : { maxBodyBytes: s.maxBodyBytes },
            }),
          ),
          host === SECURE_HOST ? 'ns/secure-tls' : undefined,
        ),
      ),
      backends: Object.fromEntries(
        ROUTES.map((r) => [backendKey(r.backend), backend(r.backend, [port(r.backend)])]),
      ),
      certificates: { 'ns/secure-tls': { certPem: this.cert.certPem, keyPem: this.cert.keyPem } },
    });
    await this.restart();
  }

  /** Kills the process and closes every backend, after the case in flight; safe to call twice. */
  async stop(): Promise<void> {
    this.stopped = true;
    await this.queue;
    await this.kill();
    await Promise.all(this.backends.map((b) => b.close()));
    this.backends = [];
    rmSync(this.dir, { recursive: true, force: true });
  }

  /** The process's stdout and stderr (the last 64 KiB), for crash reports. */
  output(): string {
    return this.proc?.output() ?? '';
  }

  private async kill(): Promise<void> {
    const p = this.proc;
    this.proc = undefined;
    if (p === undefined) return;
    if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGKILL');
    await p.exited;
  }

  private async restart(): Promise<void> {
    await this.kill();
    this.proc = await spawnDataplane(this.dir);
    const res = await fetch(`http://127.0.0.1:${this.proc.ports.config}/v1/config`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify(this.config),
    });
    if (res.status !== 200) throw new Error(`config refused: ${res.status} ${await res.text()}`);
    this.checked = this.seen.length;
    this.fresh = true;
  }

  /**
   * Runs one case and checks the oracle; throws a FuzzFailure listing every problem found.
   * Cases run one at a time: fast-check does not wait for a case still running when its time
   * limit ends, and the next run must not share (or restart) the process under it.
   */
  check(c: FuzzCase): Promise<void> {
    const run = this.queue.then(() => (this.stopped ? undefined : this.checkNow(c)));
    this.queue = run.catch(() => {});
    return run;
  }

  private async checkNow(c: FuzzCase): Promise<void> {
    if (this.proc === undefined || !this.fresh) await this.restart();
    this.cases++;
    const proc = this.proc!;
    const answer = c.kind === 'h1' ? await this.runH1(proc, c) : await this.runH2(proc, c);
    const problems: Problem[] = [];
    if (c.kind === 'h1') problems.push(...answerProblems(answer));
    const alive = await this.alive(proc);
    if (alive !== undefined) {
      problems.push(alive);
      this.fresh = false;
    } else {
      const routeProblems = await this.routeChecks(proc);
      const gauge = await this.gaugeBack(proc);
      if (gauge !== undefined) routeProblems.push(gauge);
      if (routeProblems.length > 0) this.fresh = false;
      problems.push(...routeProblems);
    }
    problems.push(...this.backendProblems());
    if (problems.length > 0) throw new FuzzFailure(problems);
  }

  private runH1(proc: Proc, c: Extract<FuzzCase, { kind: 'h1' }>): Promise<string> {
    const socket = c.tls
      ? tlsConnect({
          host: '127.0.0.1',
          port: proc.ports.https,
          servername: SECURE_HOST,
          ALPNProtocols: ['http/1.1'],
          rejectUnauthorized: false,
        })
      : netConnect(proc.ports.http, '127.0.0.1');
    return exchange(socket, c.tls ? 'secureConnect' : 'connect', [h1Bytes(c)], this.idleMs);
  }

  private runH2(proc: Proc, c: Extract<FuzzCase, { kind: 'h2' }>): Promise<string> {
    const socket = tlsConnect({
      host: '127.0.0.1',
      port: proc.ports.https,
      ...(c.sni === '' ? {} : { servername: c.sni }),
      ALPNProtocols: ['h2'],
      rejectUnauthorized: false,
    });
    return exchange(socket, 'secureConnect', h2Chunks(c), this.idleMs);
  }

  private async alive(proc: Proc): Promise<Problem | undefined> {
    const dead = () =>
      proc.child.exitCode !== null || proc.child.signalCode !== null
        ? {
            kind: 'crash',
            detail: `data plane exited (code ${proc.child.exitCode}, signal ${proc.child.signalCode}); its last output:\n${tail(proc.output(), 3_000)}`,
          }
        : undefined;
    const already = dead();
    if (already) return already;
    try {
      const res = await fetch(`http://127.0.0.1:${proc.ports.ops}/healthz`, {
        signal: AbortSignal.timeout(5_000),
      });
      await res.arrayBuffer();
      if (res.status === 200) return undefined;
      return { kind: 'crash', detail: `/healthz answered ${res.status}` };
    } catch (err) {
      await sleep(100);
      return dead() ?? { kind: 'crash', detail: `/healthz failed: ${(err as Error).message}` };
    }
  }

  /** A normal request to each route: 200 from the backend that route names. */
  private async routeChecks(proc: Proc): Promise<Problem[]> {
    const problems: Problem[] = [];
    const probes: Array<{ spec: RouteSpec; path: string; method: string; body?: string }> = ROUTES.map(
      (spec) => ({
        spec,
        path: spec.path === '/' ? '/probe' : spec.pathType === 'Prefix' ? `${spec.path}/probe` : spec.path,
        method: spec.backend === 'upload' ? 'POST' : 'GET',
        body: spec.backend === 'upload' ? 'x' : undefined,
      }),
    );
    await Promise.all(
      probes.map(async ({ spec, path, method, body }) => {
        try {
          const res = await probe(proc, spec.host === SECURE_HOST, spec.host, path, method, body);
          if (res.status !== 200 || res.backend !== spec.backend)
            problems.push({
              kind: 'route',
              detail: `${method} ${spec.host}${path}: ${res.status} from ${res.backend ?? 'no backend'}, expected 200 from ${spec.backend}`,
            });
        } catch (err) {
          problems.push({
            kind: 'route',
            detail: `${method} ${spec.host}${path}: ${(err as Error).message}`,
          });
        }
      }),
    );
    return problems;
  }

  /** Polls /metrics until the in-use gauge sums to 0; a missing gauge counts as 0. */
  private async gaugeBack(proc: Proc): Promise<Problem | undefined> {
    const deadline = Date.now() + this.gaugeTimeoutMs;
    let last = '';
    for (;;) {
      try {
        const text = await (await fetch(`http://127.0.0.1:${proc.ports.ops}/metrics`)).text();
        const lines = text
          .split('\n')
          .filter((l) => l.startsWith(`${METRIC}{`) || l.startsWith(`${METRIC} `));
        if (lines.length === 0 && !text.includes(`# TYPE ${METRIC} `)) this.metricMissing = true;
        const sum = lines.reduce((s, l) => s + Number(l.slice(l.lastIndexOf(' ') + 1)), 0);
        if (sum === 0) return undefined;
        last = lines.filter((l) => !l.endsWith(' 0')).join('; ');
      } catch (err) {
        last = `scrape failed: ${(err as Error).message}`;
      }
      if (Date.now() > deadline)
        return {
          kind: 'in-use gauge',
          detail: `${METRIC} not back to 0 after ${this.gaugeTimeoutMs} ms: ${last}`,
        };
      await sleep(50);
    }
  }

  /** Every request the backends saw since the last check, against what the routing table allows. */
  private backendProblems(): Problem[] {
    const problems: Problem[] = [];
    for (; this.checked < this.seen.length; this.checked++) {
      const r = this.seen[this.checked];
      for (const why of disallowed(r))
        problems.push({
          kind: 'backend saw',
          detail: `${r.backend} got ${r.method} ${JSON.stringify(r.url)}: ${why}`,
        });
    }
    // Tunnelled bytes arrive after the record was made: look at recent upgrade records again.
    for (const r of this.seen.slice(-20))
      if (r.upgrade && r.tunnelledBytes > 0) {
        problems.push({
          kind: 'backend saw',
          detail: `${r.backend} answered an upgrade with 200, yet ${r.tunnelledBytes} more bytes reached it: the connection became a raw tunnel without a 101`,
        });
        r.tunnelledBytes = 0;
      }
    return problems;
  }
}

/** Why a request must not have reached this backend (empty when it is allowed). */
export function disallowed(r: SeenRequest): string[] {
  const spec = ROUTES.find((s) => s.backend === r.backend)!;
  const why: string[] = [];
  const headers = new Map<string, string[]>();
  for (let i = 0; i < r.rawHeaders.length; i += 2) {
    const name = r.rawHeaders[i].toLowerCase();
    headers.set(name, [...(headers.get(name) ?? []), r.rawHeaders[i + 1]]);
    if (name.includes('_')) why.push(`header name with an underscore: ${r.rawHeaders[i]}`);
  }
  if (r.method === 'CONNECT' || r.method === 'TRACE') why.push(`method ${r.method}`);
  const hosts = headers.get('host') ?? [];
  if (hosts.length !== 1) why.push(`${hosts.length} Host headers`);
  else if (plainHost(hosts[0]) !== spec.host)
    why.push(`host ${JSON.stringify(hosts[0])} is not ${spec.host}`);
  const q = r.url.indexOf('?');
  const path = q === -1 ? r.url : r.url.slice(0, q);
  const bad = notNormalised(path);
  if (bad !== undefined) why.push(`path not normalised (${bad})`);
  const matches =
    spec.pathType === 'Exact'
      ? path === spec.path
      : spec.path === '/' || path === spec.path || path.startsWith(`${spec.path}/`);
  if (!matches) why.push(`path ${JSON.stringify(path)} is not on route ${spec.pathType} ${spec.path}`);
  for (const name of ['x-forwarded-for', 'x-real-ip']) {
    const v = headers.get(name) ?? [];
    if (v.length !== 1 || v[0] !== '127.0.0.1')
      why.push(`${name} ${JSON.stringify(v)}, expected the peer 127.0.0.1`);
  }
  for (const name of [
    'expect',
    'te',
    'trailer',
    'proxy-connection',
    'http2-settings',
    'keep-alive',
    'forwarded',
  ])
    if (headers.has(name)) why.push(`${name} header forwarded`);
  // Any route may take a WebSocket upgrade (the proxy cannot know the backend's protocols); an
  // Upgrade header on a request that is not one (h2c) must have been dropped.
  if (headers.has('upgrade') && !r.upgrade) why.push('upgrade header forwarded on a plain request');
  if (spec.maxBodyBytes !== undefined && r.bodyBytes > spec.maxBodyBytes)
    why.push(`${r.bodyBytes} body bytes, above the route's ${spec.maxBodyBytes}`);
  return why;
}

/** Host header as the routing table compares it: lower case, no port, no trailing dot. */
function plainHost(raw: string): string {
  let h = raw.toLowerCase();
  if (!h.startsWith('[')) h = h.replace(/:\d*$/, '');
  return h.endsWith('.') ? h.slice(0, -1) : h;
}

/** Independent of the data plane's normaliser: what a normalised path never contains. */
function notNormalised(path: string): string | undefined {
  if (!path.startsWith('/')) return 'not absolute';
  for (let i = 0; i < path.length; i++) {
    const c = path.charCodeAt(i);
    if (c <= 0x20 || c >= 0x7f || c === 0x5c || c === 0x23)
      return 'control, space, non-ASCII, backslash or #';
  }
  if (path.includes('//')) return 'empty segment';
  if (/(^|\/)\.\.?(\/|$)/.test(path)) return 'dot-segment';
  for (const m of path.matchAll(/%(.{0,2})/g)) {
    const hex = m[1];
    if (!/^[0-9A-F]{2}$/.test(hex)) return `escape %${hex} malformed or lower case`;
    const c = Number.parseInt(hex, 16);
    if (c === 0x2f || c === 0x5c) return `encoded ${c === 0x2f ? 'slash' : 'backslash'}`;
    if (/[A-Za-z0-9\-._~]/.test(String.fromCharCode(c))) return `escaped unreserved %${hex}`;
  }
  return undefined;
}

/** Problems visible in the raw HTTP/1 answer of a case. */
export function answerProblems(answer: string): Problem[] {
  const problems: Problem[] = [];
  const statuses = [...answer.matchAll(/HTTP\/1\.[01] (\d{3})/g)].map((m) => Number(m[1]));
  if (statuses.includes(500)) problems.push({ kind: 'answer', detail: 'a 500 answer (internal error)' });
  const cont = statuses.indexOf(100);
  if (cont !== -1 && statuses.slice(cont + 1).includes(413))
    problems.push({
      kind: 'answer',
      detail: '100 Continue sent, then 413: the body was asked for and refused',
    });
  return problems;
}

async function probe(
  proc: Proc,
  tls: boolean,
  host: string,
  path: string,
  method: string,
  body?: string,
): Promise<{ status: number; backend: string | undefined }> {
  return new Promise((resolve, reject) => {
    const options = {
      host: '127.0.0.1',
      port: tls ? proc.ports.https : proc.ports.http,
      path,
      method,
      headers: { host },
      agent: false,
      timeout: 10_000,
      ...(tls ? { servername: host, rejectUnauthorized: false } : {}),
    } as const;
    const req = (tls ? https : http).request(options, (res) => {
      // The slow route answers for seconds: headers are enough, and closing early is a test too.
      resolve({ status: res.statusCode ?? 0, backend: res.headers['x-backend'] as string | undefined });
      res.destroy();
    });
    req.on('timeout', () => req.destroy(new Error('no answer within 10 s')));
    req.on('error', reject);
    req.end(body);
  });
}

/** Writes the chunks (numbers are pauses) and collects the answer until close or idle. */
function exchange(
  socket: Socket,
  ready: string,
  chunks: Array<Buffer | number>,
  idleMs: number,
): Promise<string> {
  return new Promise((resolve) => {
    let text = '';
    let writing = true;
    let timer: NodeJS.Timeout | undefined;
    const hardStop = setTimeout(() => finish(), 5_000);
    const finish = () => {
      clearTimeout(timer);
      clearTimeout(hardStop);
      socket.destroy();
      resolve(text);
    };
    const arm = () => {
      clearTimeout(timer);
      if (!writing) timer = setTimeout(finish, idleMs);
    };
    socket.on(ready, async () => {
      for (const c of chunks) {
        if (socket.destroyed) break;
        if (typeof c === 'number') await sleep(c);
        else socket.write(c);
      }
      writing = false;
      arm();
    });
    socket.on('data', (d: Buffer) => {
      text += d.toString('latin1');
      arm();
    });
    socket.on('error', () => {});
    socket.on('close', finish);
  });
}

async function spawnDataplane(dir: string): Promise<Proc> {
  const child = spawn(nodeBin, [mainTs, ...loopbackFlags(join(dir, 'token'), { drainTimeout: '1s' })], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let out = '';
  const keep = (d: Buffer) => {
    out += d.toString();
    if (out.length > 65_536) out = out.slice(-65_536);
  };
  child.stderr!.on('data', keep);
  const ports = await new Promise<Proc['ports']>((resolve, reject) => {
    child.stdout!.on('data', (d: Buffer) => {
      keep(d);
      for (const line of out.split('\n'))
        if (line.includes('"data plane listening"')) resolve(JSON.parse(line).ports);
    });
    void exited.then(() => reject(new Error(`data plane exited at start: ${out}`)));
  });
  return { child, ports, exited, output: () => out };
}

function tail(s: string, n: number): string {
  return s.length <= n ? s : `…${s.slice(-n)}`;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
