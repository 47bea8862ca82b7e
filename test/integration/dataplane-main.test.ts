// The data-plane process as deployed: flags and environment, the saved config served after a
// restart before any push, and the SIGTERM drain.

import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type TestContext, test } from 'node:test';
import { simpleConfig } from '../../contract/testing/fixtures.ts';
import { request, startBackend } from '../../dataplane/testing/net.ts';

const root = new URL('../../', import.meta.url).pathname;
const node = join(root, 'node_modules/.bin/node');
const main = join(root, 'dataplane/main.ts');

interface Proc {
  child: ChildProcess;
  ports: { http: number; https: number; config: number; ops: number };
  exited: Promise<number | null>;
  output: () => string;
}

function workdir(t: TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-dp-main-'));
  writeFileSync(join(dir, 'token'), 'main-test-token\n');
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Starts the process (ports from the environment, 0 = ephemeral) and waits for its listening line. */
async function startProcess(t: TestContext, args: string[], env: Record<string, string>): Promise<Proc> {
  const child = spawn(node, [main, ...args], {
    env: {
      ...process.env,
      SLUICE_ADDRESS: '127.0.0.1',
      SLUICE_CONFIG_ADDRESS: '127.0.0.1',
      SLUICE_OPS_ADDRESS: '127.0.0.1',
      SLUICE_HTTP_PORT: '0',
      SLUICE_HTTPS_PORT: '0',
      SLUICE_CONFIG_PORT: '0',
      SLUICE_OPS_PORT: '0',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  t.after(async () => {
    if (child.exitCode === null) child.kill('SIGKILL');
    await exited;
  });
  let out = '';
  child.stderr!.on('data', (d) => (out += d));
  const ports = await new Promise<Proc['ports']>((resolve, reject) => {
    child.stdout!.on('data', (d) => {
      out += d;
      for (const line of out.split('\n')) {
        if (!line.includes('"data plane listening"')) continue;
        resolve(JSON.parse(line).ports);
      }
    });
    void exited.then((code) => reject(new Error(`exited with ${code}: ${out}`)));
  });
  return { child, ports, exited, output: () => out };
}

function push(port: number, config: unknown) {
  return fetch(`http://127.0.0.1:${port}/v1/config`, {
    method: 'PUT',
    headers: { authorization: 'Bearer main-test-token', 'content-type': 'application/json' },
    body: JSON.stringify(config),
  });
}

test('--help prints the flags; bad flags stop the process with exit code 2', async () => {
  const run = (args: string[], env: Record<string, string> = {}) =>
    new Promise<{ code: number | null; out: string }>((resolve) => {
      const child = spawn(node, [main, ...args], {
        env: { ...process.env, ...env },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let out = '';
      child.stdout.on('data', (d) => (out += d));
      child.stderr.on('data', (d) => (out += d));
      child.on('exit', (code) => resolve({ code, out }));
    });
  const help = await run(['--help']);
  assert.equal(help.code, 0);
  assert.match(help.out, /--config-token-file \[SLUICE_CONFIG_TOKEN_FILE\]/);
  const missing = await run([]);
  assert.equal(missing.code, 2);
  assert.match(missing.out, /--config-token-file: required/);
  const bad = await run(['--config-token-file=/x', '--http-port=70000', '--trusted-proxies=bogus']);
  assert.equal(bad.code, 2);
  assert.match(bad.out, /--http-port: "70000" is not an integer/);
  const envBad = await run(['--config-token-file=/x'], { SLUICE_HEADER_TIMEOUT: 'soon' });
  assert.equal(envBad.code, 2);
  assert.match(envBad.out, /--header-timeout: "soon" is not a duration/);
});

test('a restarted replica serves the saved config before any push', async (t) => {
  const dir = workdir(t);
  const be = await startBackend(t, 'app');
  const env = { SLUICE_CONFIG_TOKEN_FILE: join(dir, 'token'), SLUICE_STATE_FILE: join(dir, 'state.json') };
  const first = await startProcess(t, ['--access-log=false'], env);
  const config = simpleConfig('app.example', [be.port]);
  const put = await push(first.ports.config, config);
  assert.equal(put.status, 200);
  assert.equal(((await put.json()) as { persisted: boolean }).persisted, true);
  first.child.kill('SIGTERM');
  assert.equal(await first.exited, 0);

  const second = await startProcess(t, ['--access-log=false'], env);
  assert.equal((await fetch(`http://127.0.0.1:${second.ports.ops}/readyz`)).status, 200);
  const res = await request(second.ports.http, { host: 'app.example' });
  assert.equal(res.body, 'app');
  const got = (await (
    await fetch(`http://127.0.0.1:${second.ports.config}/v1/config`, {
      headers: { authorization: 'Bearer main-test-token' },
    })
  ).json()) as { version: string };
  assert.equal(got.version, config.version);
  second.child.kill('SIGTERM');
  assert.equal(await second.exited, 0);
});

test('SIGTERM: not ready at once, requests in flight finish, then the process exits 0', async (t) => {
  const dir = workdir(t);
  let release: () => void = () => {};
  const gate = new Promise<void>((r) => (release = r));
  const be = await startBackend(t, 'app', (_req, res) => {
    void gate.then(() => res.end('slow done'));
  });
  const proc = await startProcess(
    t,
    [`--config-token-file=${join(dir, 'token')}`, '--drain-timeout=10s'],
    {},
  );
  assert.equal((await push(proc.ports.config, simpleConfig('app.example', [be.port]))).status, 200);

  const inflight = request(proc.ports.http, { host: 'app.example' });
  while (be.seen.length === 0) await new Promise((r) => setTimeout(r, 10));
  proc.child.kill('SIGTERM');
  let ready = 200;
  for (let i = 0; i < 100 && ready === 200; i++) {
    ready = (await fetch(`http://127.0.0.1:${proc.ports.ops}/readyz`)).status;
    if (ready === 200) await new Promise((r) => setTimeout(r, 10));
  }
  assert.equal(ready, 503);
  release();
  const res = await inflight;
  assert.equal(res.status, 200);
  assert.equal(res.body, 'slow done');
  assert.equal(res.headers.connection, 'close');
  assert.equal(await proc.exited, 0);
  // Access log lines are JSON, one per request.
  const lines = proc
    .output()
    .split('\n')
    .filter((l) => l.includes('"msg":"request"'));
  assert.equal(lines.length, 1);
  const entry = JSON.parse(lines[0]);
  assert.equal(entry.status, 200);
  assert.equal(entry.host, 'app.example');
  assert.equal(entry.backend, 'ns/app:80');
});
