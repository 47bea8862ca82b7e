import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { pino } from 'pino';
import { until } from '../../contract/testing/poll.ts';
import { type CertAndKey, generateCa, issueServing } from '../../runtime/pki.ts';
import { FileCertificates, readPair } from './files.ts';

const now = Date.now();
const validity = { notBefore: new Date(now - 60_000), notAfter: new Date(now + 3_600_000) };

async function pair(name: string): Promise<CertAndKey> {
  const ca = await generateCa(`${name}-ca`, validity);
  return issueServing(ca, { commonName: name, names: ['127.0.0.1'] }, validity);
}

test('reloads when the files change, keeps the old pair when the new one does not match', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'sluice-webhook-files-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const [one, two, three] = await Promise.all([pair('one'), pair('two'), pair('three')]);
  const certFile = join(dir, 'tls.crt');
  const keyFile = join(dir, 'tls.key');
  await writeFile(certFile, one.cert);
  await writeFile(keyFile, one.key);

  const loaded: string[] = [];
  let errors = 0;
  const files = new FileCertificates({
    certFile,
    keyFile,
    pollIntervalMs: 200,
    log: pino({ level: 'silent' }),
    onServing: (p) => loaded.push(p.cert),
    onError: () => errors++,
  });
  t.after(() => files.stop());
  await files.load();
  files.start();
  assert.deepEqual(loaded, [one.cert]);

  await writeFile(certFile, two.cert);
  await writeFile(keyFile, two.key);
  await until(() => loaded.at(-1) === two.cert, 'the second pair');

  // A certificate without its key (a half-done update) is not taken.
  await writeFile(certFile, three.cert);
  assert.equal(await files.check(), false);
  assert.equal(loaded.at(-1), two.cert);
  assert.ok(errors > 0);
  await writeFile(keyFile, three.key);
  await until(() => loaded.at(-1) === three.cert, 'the third pair');
  assert.equal(loaded.filter((c) => c === three.cert).length, 1);
});

test('follows a kubelet-style symlink swap of a mounted Secret', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'sluice-webhook-mount-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const [one, two] = await Promise.all([pair('one'), pair('two')]);
  const version = async (name: string, p: CertAndKey) => {
    await mkdir(join(dir, name));
    await writeFile(join(dir, name, 'tls.crt'), p.cert);
    await writeFile(join(dir, name, 'tls.key'), p.key);
  };
  await version('..v1', one);
  await symlink('..v1', join(dir, '..data'));
  await symlink('..data/tls.crt', join(dir, 'tls.crt'));
  await symlink('..data/tls.key', join(dir, 'tls.key'));
  const loaded: string[] = [];
  const files = new FileCertificates({
    certFile: join(dir, 'tls.crt'),
    keyFile: join(dir, 'tls.key'),
    pollIntervalMs: 60_000,
    log: pino({ level: 'silent' }),
    onServing: (p) => loaded.push(p.cert),
  });
  t.after(() => files.stop());
  await files.load();
  files.start();
  await version('..v2', two);
  await symlink('..v2', join(dir, '..data_tmp'));
  await rename(join(dir, '..data_tmp'), join(dir, '..data'));
  await until(() => loaded.at(-1) === two.cert, 'the swapped pair (through the directory watch)');
});

test('readPair refuses a certificate with the wrong key and missing files', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'sluice-webhook-bad-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const [one, two] = await Promise.all([pair('one'), pair('two')]);
  await writeFile(join(dir, 'c'), one.cert);
  await writeFile(join(dir, 'k'), two.key);
  await assert.rejects(
    readPair(join(dir, 'c'), join(dir, 'k')),
    /not a matching certificate and private key/,
  );
  await assert.rejects(readPair(join(dir, 'missing'), join(dir, 'k')), /ENOENT/);
});
