import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { test } from 'node:test';
import {
  coversNames,
  generateCa,
  issuedBy,
  issueServing,
  joinPem,
  notAfter,
  pairMatches,
  parseCert,
  splitPem,
} from './pki.ts';

const now = Date.now();
const validity = { notBefore: new Date(now - 60_000), notAfter: new Date(now + 86_400_000) };

test('a CA and a serving certificate it signs, with DNS and IP SANs', async () => {
  const ca = await generateCa('test-ca', validity);
  const serving = await issueServing(
    ca,
    { commonName: 'hook', names: ['hook.ns.svc', '127.0.0.1', '::1'] },
    validity,
  );
  const caCert = new X509Certificate(ca.cert);
  const cert = new X509Certificate(serving.cert);
  assert.equal(caCert.ca, true);
  assert.equal(cert.ca, false);
  assert.ok(issuedBy(cert, caCert));
  assert.ok(pairMatches(ca));
  assert.ok(pairMatches(serving));
  assert.ok(!pairMatches({ cert: serving.cert, key: ca.key }));
  assert.ok(coversNames(cert, ['hook.ns.svc', '127.0.0.1', '::1']));
  assert.ok(!coversNames(cert, ['other.ns.svc']));
  assert.match(cert.keyUsage?.join(',') ?? '', /1\.3\.6\.1\.5\.5\.7\.3\.1/);
  assert.equal(notAfter(cert).getTime(), Math.floor(validity.notAfter.getTime() / 1000) * 1000);
  const other = await generateCa('other', validity);
  assert.ok(!issuedBy(cert, new X509Certificate(other.cert)));
});

test('PEM bundles split and join', async () => {
  const a = await generateCa('a', validity);
  const b = await generateCa('b', validity);
  const bundle = joinPem([a.cert, b.cert]);
  assert.deepEqual(
    splitPem(bundle).map((p) => parseCert(p)?.subject),
    ['CN=a', 'CN=b'],
  );
  assert.deepEqual(splitPem('garbage'), []);
  assert.equal(parseCert('not a certificate'), undefined);
  assert.ok(!pairMatches({ cert: 'x', key: 'y' }));
});
