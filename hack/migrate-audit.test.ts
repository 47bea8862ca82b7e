import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import test from 'node:test';
import { type AuditReport, main, parseArgs } from './migrate-audit.ts';

const FIXTURES = new URL('./testdata/migrate-audit/', import.meta.url).pathname;

class Capture extends Writable {
  text = '';
  override _write(chunk: Buffer, _enc: BufferEncoding, done: () => void): void {
    this.text += chunk.toString();
    done();
  }
}

async function audit(args: string[]): Promise<{ code: number; out: string; err: string }> {
  const out = new Capture();
  const err = new Capture();
  const code = await main(args, out, err);
  return { code, out: out.text, err: err.text };
}

test('a directory: every Ingress in nested files, multi-document and Lists, with answers and totals', async () => {
  const { code, out } = await audit(['--dir', FIXTURES, '--json']);
  assert.equal(code, 1, 'a refused snippet and an unknown name fail the audit');
  const report = JSON.parse(out) as AuditReport;
  assert.deepEqual(
    report.ingresses.map((i) => `${i.namespace}/${i.name}`),
    ['other/plain', 'shop/api', 'shop/web'],
  );
  const api = report.ingresses.find((i) => i.name === 'api')!;
  assert.deepEqual(
    api.annotations.map((a) => [a.name, a.status]),
    [
      ['configuration-snippet', 'refused'],
      ['rewite-target', 'unknown'],
    ],
  );
  assert.match(api.annotations[1].reason, /did you mean rewrite-target/);
  assert.match(api.annotations[0].reason, /never interprets/);
  const web = report.ingresses.find((i) => i.name === 'web')!;
  assert.deepEqual(
    web.annotations.map((a) => a.name),
    ['proxy-buffering', 'proxy-connect-timeout'],
    'only nginx.ingress.kubernetes.io/ annotations are audited',
  );
  assert.equal(web.annotations[0].status, 'ignored');
  assert.ok(['served', 'differs'].includes(web.annotations[1].status));
  assert.equal(report.totals.refused, 1);
  assert.equal(report.totals.unknown, 1);
  assert.equal(report.totals.ignored, 1);
  assert.equal(report.shortfall, true);
});

test('only served and ignored annotations: exit 0, with a readable report', async () => {
  const { code, out } = await audit(['--file', join(FIXTURES, 'served.yaml')]);
  assert.equal(code, 0);
  assert.match(out, /^Ingress shop\/web \(/m);
  assert.match(out, /ignored +nginx\.ingress\.kubernetes\.io\/proxy-buffering: Sluice streams/);
  assert.match(
    out,
    /1 Ingresses, 1 with ingress-nginx annotations: .*1 ignored, 0 refused, 0 not served, 0 unknown/,
  );
});

test('the snippet policy is the one Sluice runs with: warn still reports the snippet as refused', async () => {
  const { code, out } = await audit([
    '--file',
    join(FIXTURES, 'nested/mixed.yaml'),
    '--snippets=warn',
    '--json',
  ]);
  assert.equal(code, 1);
  const report = JSON.parse(out) as AuditReport;
  assert.equal(report.ingresses.find((i) => i.name === 'api')!.annotations[0].status, 'refused');
});

test('hostile values: control characters never reach the terminal; a bad served value is refused', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'audit-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'hostile.json');
  writeFileSync(
    file,
    JSON.stringify({
      apiVersion: 'networking.k8s.io/v1',
      kind: 'Ingress',
      metadata: {
        name: 'evil\u001b[2J',
        namespace: 'ns',
        annotations: {
          'nginx.ingress.kubernetes.io/x\r\ny': 'z',
          'nginx.ingress.kubernetes.io/proxy-connect-timeout': 'ten\r\nseconds',
        },
      },
    }),
  );
  const { code, out } = await audit(['--file', file]);
  assert.equal(code, 1);
  assert.ok(
    [...out].every((c) => c === '\n' || c.charCodeAt(0) >= 0x20),
    'only newlines between lines',
  );
  assert.match(out, /Ingress ns\/evil\?\[2J/);
  assert.match(out, /REFUSED +nginx\.ingress\.kubernetes\.io\/proxy-connect-timeout: /);
  assert.match(out, /UNKNOWN +nginx\.ingress\.kubernetes\.io\/x\?\?y/);
});

test('usage and read errors exit 2 with a message', async () => {
  for (const args of [
    ['--bogus'],
    ['--dir'],
    ['--snippets=maybe'],
    ['-n', 'a', '--all-namespaces'],
    ['--file', '/nonexistent/x.yaml'],
  ]) {
    const { code, err } = await audit(args);
    assert.equal(code, 2, args.join(' '));
    assert.ok(err.length > 0);
  }
  const dir = mkdtempSync(join(tmpdir(), 'audit-'));
  try {
    writeFileSync(join(dir, 'bad.yaml'), 'kind: [unclosed');
    const { code, err } = await audit(['--dir', dir]);
    assert.equal(code, 2);
    assert.match(err, /bad\.yaml: not YAML/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('arguments: cluster by default (all namespaces), -n narrows it', () => {
  assert.deepEqual(parseArgs([]), { dirs: [], files: [], json: false, snippets: 'refuse' });
  assert.equal(parseArgs(['-n', 'shop']).namespace, 'shop');
  assert.equal(parseArgs(['--namespace=shop', '--json']).json, true);
});
