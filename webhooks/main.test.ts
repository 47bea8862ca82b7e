import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { test } from 'node:test';

const main = join(import.meta.dirname, 'main.ts');

function run(args: string[], env: Record<string, string> = {}) {
  return spawnSync(process.execPath, [main, ...args], {
    encoding: 'utf8',
    env: { PATH: process.env.PATH, ...env },
    timeout: 30_000,
  });
}

test('--help prints every flag and exits 0', () => {
  const r = run(['--help']);
  assert.equal(r.status, 0);
  assert.match(r.stdout, /--tls-cert-file \[SLUICE_TLS_CERT_FILE\]/);
});

test('a bad flag or value exits 2 with the problems, before touching the network', () => {
  const bad = run(['--bogus=1']);
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /unknown argument "--bogus=1"/);
  const value = run([], { SLUICE_PORT: 'eighty' });
  assert.equal(value.status, 2);
  assert.match(value.stderr, /--port: "eighty" is not an integer/);
});

test('missing certificate files stop the start with a clear message and exit 1', () => {
  const r = run([
    '--tls-cert-file=/nonexistent/tls.crt',
    '--tls-key-file=/nonexistent/tls.key',
    '--kubeconfig=/nonexistent/kubeconfig',
  ]);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /sluice webhook failed to start: .*nonexistent/);
});
