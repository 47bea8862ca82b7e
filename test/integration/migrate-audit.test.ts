// `npm run migrate:audit` against the real API server: Ingresses with served, differing, ignored,
// not served, refused and unknown ingress-nginx annotations are applied in namespaces of the
// test's own, the audit runs as its own process with the test cluster's kubeconfig and `-n`, and
// its per-Ingress answers, totals and exit code are checked.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, test } from 'node:test';
import type { AuditReport } from '../../hack/migrate-audit.ts';
import { ingress, list } from '../../operator/testing/objects.ts';
import { cluster, type TestCluster } from '../support/cluster.ts';

const root = join(import.meta.dirname, '..', '..');
const N = 'nginx.ingress.kubernetes.io/';
let c: TestCluster;

before(async () => {
  c = await cluster();
});

/** The audit as a user runs it: a separate process reading the kubeconfig from KUBECONFIG. */
function audit(
  args: string[],
  kubeconfig = c.kubeconfig,
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(root, 'hack/migrate-audit.ts'), ...args], {
      cwd: root,
      env: { ...process.env, KUBECONFIG: kubeconfig },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (s: string) => {
      stdout += s;
    });
    child.stderr.setEncoding('utf8').on('data', (s: string) => {
      stderr += s;
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

/**
 * An Ingress with ingress-nginx annotations. The class is one no controller claims: the audit
 * reads every Ingress whatever its class, and no admission webhook a concurrent test installed
 * for the nginx class may refuse the refused ones before the audit sees them.
 */
function annotated(name: string, annotations: Record<string, string>) {
  return ingress(name, {
    className: 'audit-legacy',
    annotations: Object.fromEntries(Object.entries(annotations).map(([k, v]) => [N + k, v])),
    rules: [{ host: `${name}.audit.example.com`, paths: [{}] }],
  });
}

async function apply(ns: string, items: unknown[]): Promise<void> {
  const r = await c.kubectl(['apply', '-n', ns, '-f', '-'], { input: list(items) });
  assert.equal(r.code, 0, r.stderr);
}

function answers(report: AuditReport, name: string): Array<[string, string]> {
  const found = report.ingresses.find((i) => i.name === name);
  assert.ok(found, `Ingress ${name} is in the report`);
  return found.annotations.map((a) => [a.name, a.status]);
}

test('a namespace with a shortfall: answers per Ingress, totals, exit 1; other namespaces are not read', async (t) => {
  const ns = await c.namespace(t, 'audit');
  const elsewhere = await c.namespace(t, 'audit');
  await apply(ns, [
    annotated('served', { 'proxy-connect-timeout': '10', 'upstream-vhost': 'web.internal' }),
    annotated('differs', { 'load-balance': 'ewma', 'service-upstream': 'true' }),
    annotated('refused', { 'configuration-snippet': 'more_set_headers "X-A: b";' }),
    annotated('mixed', {
      'rewite-target': '/',
      'session-cookie-domain': 'example.com',
      'ssl-ciphers': 'HIGH',
    }),
    // Not an ingress-nginx annotation: no answer, and the Ingress is still listed.
    ingress('plain', {
      className: 'audit-legacy',
      annotations: { 'sluice.dev/body-size-limit': '2m' },
      rules: [{ host: 'plain.audit.example.com', paths: [{}] }],
    }),
  ]);
  await apply(elsewhere, [annotated('other', { 'server-snippet': 'return 200;' })]);

  const r = await audit(['-n', ns, '--json']);
  assert.equal(r.code, 1, `refused, not served and unknown names fail the audit: ${r.stderr}`);
  const report = JSON.parse(r.stdout) as AuditReport;
  assert.deepEqual(
    report.ingresses.map((i) => `${i.namespace}/${i.name}:${i.source}`),
    ['differs', 'mixed', 'plain', 'refused', 'served'].map((n) => `${ns}/${n}:cluster`),
  );
  assert.deepEqual(answers(report, 'served'), [
    ['proxy-connect-timeout', 'served'],
    ['upstream-vhost', 'served'],
  ]);
  assert.deepEqual(answers(report, 'differs'), [
    ['load-balance', 'differs'],
    ['service-upstream', 'differs'],
  ]);
  assert.deepEqual(answers(report, 'refused'), [['configuration-snippet', 'refused']]);
  assert.deepEqual(answers(report, 'mixed'), [
    ['rewite-target', 'unknown'],
    ['session-cookie-domain', 'not-served'],
    ['ssl-ciphers', 'ignored'],
  ]);
  assert.deepEqual(answers(report, 'plain'), []);
  const mixed = report.ingresses.find((i) => i.name === 'mixed')!;
  assert.match(mixed.annotations[0].reason, /did you mean rewrite-target/);
  assert.deepEqual(report.totals, {
    served: 2,
    differs: 2,
    refused: 1,
    ignored: 1,
    'not-served': 1,
    unknown: 1,
  });
  assert.equal(report.shortfall, true);

  // The text form says the same, one line per annotation, and the same exit code.
  const text = await audit(['-n', ns]);
  assert.equal(text.code, 1, text.stderr);
  assert.match(
    text.stdout,
    new RegExp(`Ingress ${ns}/refused \\(cluster\\)\\n +REFUSED +${N}configuration-snippet`),
  );
  assert.match(
    text.stdout,
    /5 Ingresses, 4 with ingress-nginx annotations: 2 served, 2 served with a difference, 1 ignored, 1 refused, 1 not served, 1 unknown/,
  );
  assert.doesNotMatch(text.stdout, /server-snippet/);
});

test('a namespace whose annotations are all served or ignored passes with exit 0', async (t) => {
  const ns = await c.namespace(t, 'audit');
  await apply(ns, [
    annotated('web', { 'proxy-connect-timeout': '5', 'enable-access-log': 'false', 'ssl-ciphers': 'HIGH' }),
  ]);
  const r = await audit(['-n', ns, '--json']);
  assert.equal(r.code, 0, r.stderr);
  const report = JSON.parse(r.stdout) as AuditReport;
  assert.deepEqual(answers(report, 'web'), [
    ['enable-access-log', 'served'],
    ['proxy-connect-timeout', 'served'],
    ['ssl-ciphers', 'ignored'],
  ]);
  assert.equal(report.shortfall, false);
});

test('an empty namespace: no Ingresses, exit 0', async (t) => {
  const ns = await c.namespace(t, 'audit');
  const r = await audit(['-n', ns, '--json']);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual((JSON.parse(r.stdout) as AuditReport).ingresses, []);
});

test('an unreachable API server: exit 2 with the error on stderr, nothing on stdout', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-audit-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const kubeconfig = join(dir, 'kubeconfig');
  // Port 1 on loopback: nothing listens there (binding it needs privileges).
  writeFileSync(
    kubeconfig,
    JSON.stringify({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: 'gone', cluster: { server: 'https://127.0.0.1:1' } }],
      users: [{ name: 'u', user: { token: 'x' } }],
      contexts: [{ name: 'gone', context: { cluster: 'gone', user: 'u' } }],
      'current-context': 'gone',
    }),
  );
  const r = await audit(['-n', 'default', '--json'], kubeconfig);
  assert.equal(r.code, 2, r.stderr);
  assert.equal(r.stdout, '');
  assert.notEqual(r.stderr.trim(), '');
});
