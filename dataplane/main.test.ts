// The fault policy of the data-plane process: a throw outside every request is fatal, but the
// process drains first (requests in flight finish) and exits 70 so the pod restarts.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { test } from 'node:test';
import { simpleConfig } from '../contract/testing/fixtures.ts';
import { loopbackFlags, request, startBackend } from './testing/net.ts';

const HOST = 'shop.example.com';

test('an uncaught exception outside any request: fatal log, requests in flight finish, exit 70', async (t) => {
  let release: () => void = () => {};
  const held = new Promise<void>((resolve) => {
    release = resolve;
  });
  let arrived: () => void = () => {};
  const arrival = new Promise<void>((resolve) => {
    arrived = resolve;
  });
  const backend = await startBackend(t, 'app', (_req, res) => {
    arrived();
    held.then(() => res.end('finished'));
  });

  const dir = mkdtempSync(join(tmpdir(), 'sluice-main-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'token'), 'test-token-0123456789');
  // A throw from a signal handler stands for a broken invariant outside every request.
  writeFileSync(
    join(dir, 'fault.mjs'),
    "process.on('SIGUSR2', () => { throw new Error('broken invariant'); });\n",
  );
  const child = spawn(
    process.execPath,
    [
      '--import',
      join(dir, 'fault.mjs'),
      join(import.meta.dirname, 'main.ts'),
      ...loopbackFlags(join(dir, 'token'), { drainTimeout: '20s' }),
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  t.after(() => {
    if (child.exitCode === null) child.kill('SIGKILL');
  });
  const lines: Array<Record<string, unknown>> = [];
  const waiters: Array<() => void> = [];
  createInterface({ input: child.stdout! }).on('line', (line) => {
    try {
      lines.push(JSON.parse(line));
    } catch {
      lines.push({ raw: line });
    }
    for (const w of waiters.splice(0)) w();
  });
  const lineWith = async (msg: string) => {
    for (;;) {
      const found = lines.find((l) => l.msg === msg);
      if (found) return found;
      if (child.exitCode !== null) assert.fail(`exited before "${msg}": ${JSON.stringify(lines)}`);
      await new Promise<void>((resolve) => waiters.push(resolve));
    }
  };

  const ports = (await lineWith('data plane listening')).ports as { http: number; config: number };
  const pushed = await fetch(`http://127.0.0.1:${ports.config}/v1/config`, {
    method: 'PUT',
    headers: { authorization: 'Bearer test-token-0123456789', 'content-type': 'application/json' },
    body: JSON.stringify(simpleConfig(HOST, [backend.port])),
  });
  assert.equal(pushed.status, 200);

  const inflight = request(ports.http, { host: HOST });
  await arrival;
  child.kill('SIGUSR2');
  const fatal = await lineWith('fault outside any request: draining, then exiting');
  assert.equal(fatal.level, 'fatal');
  assert.match(JSON.stringify(fatal.err), /broken invariant/);
  await lineWith('draining');
  release();
  const res = await inflight;
  assert.equal(res.status, 200);
  assert.equal(res.body, 'finished');
  assert.equal(await exited, 70);
});
