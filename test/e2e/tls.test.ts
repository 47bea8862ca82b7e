// End to end: a TLS Ingress serves its Secret's certificate by SNI (through the load balancer to
// both replicas), plain HTTP redirects to HTTPS, and updating the Secret rotates the certificate.
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { request } from 'node:https';
import { test } from 'node:test';
import { until } from '../../contract/testing/poll.ts';
import { type CertAndKey, generateCa, issueServing } from '../../runtime/pki.ts';
import { echoApp, ingress, rolledOut, startStack } from '../support/stack.ts';

const validity = () => ({
  notBefore: new Date(Date.now() - 60_000),
  notAfter: new Date(Date.now() + 86_400_000),
});

function tlsSecret(name: string, pair: CertAndKey): Record<string, unknown> {
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name },
    type: 'kubernetes.io/tls',
    stringData: { 'tls.crt': pair.cert, 'tls.key': pair.key },
  };
}

/** GET over TLS with SNI; resolves to the status, body and the certificate served. */
function httpsGet(
  address: string,
  servername: string,
  ca: string,
): Promise<{ status: number; body: string; fingerprint: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: address,
        port: 443,
        path: '/',
        servername,
        ca,
        headers: { host: servername },
        agent: false,
        timeout: 10_000,
      },
      (res) => {
        const cert = (res.socket as import('node:tls').TLSSocket).getPeerX509Certificate();
        let body = '';
        res.setEncoding('utf8').on('data', (d: string) => {
          body += d;
        });
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, body, fingerprint: cert?.fingerprint256 ?? '' }),
        );
      },
    );
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end();
  });
}

test('TLS by SNI from the Ingress Secret, and rotation', async (t) => {
  const stack = await startStack(t);
  const ca = await generateCa('e2e test CA', validity());
  const first = await issueServing(
    ca,
    { commonName: 'tls.example.com', names: ['tls.example.com'] },
    validity(),
  );
  await stack.apply([
    ...echoApp('secure', 'secure'),
    tlsSecret('secure-tls', first),
    ingress(
      'secure',
      stack.cls.className,
      [{ host: 'tls.example.com', paths: [{ path: '/', service: 'secure' }] }],
      [{ hosts: ['tls.example.com'], secretName: 'secure-tls' }],
    ),
  ]);
  await rolledOut(stack, 'secure', 1);
  const firstFingerprint = new X509Certificate(first.cert).fingerprint256;

  await t.test('the Secret certificate is served for its SNI name', async () => {
    const r = await until(async () => {
      const got = await httpsGet(stack.lb, 'tls.example.com', ca.cert);
      return got.status === 200 ? got : undefined;
    }, 'HTTPS answer');
    assert.equal(r.fingerprint, firstFingerprint);
    assert.equal(JSON.parse(r.body).text, 'secure');
  });

  await t.test('plain HTTP to the TLS host redirects to HTTPS', async () => {
    const r = await stack.get('tls.example.com', '/some/path?q=1');
    assert.equal(r.status, 308, r.body);
  });

  await t.test('updating the Secret rotates the certificate', async () => {
    const second = await issueServing(
      ca,
      { commonName: 'tls.example.com', names: ['tls.example.com'] },
      validity(),
    );
    const secondFingerprint = new X509Certificate(second.cert).fingerprint256;
    assert.notEqual(secondFingerprint, firstFingerprint);
    await stack.apply([tlsSecret('secure-tls', second)]);
    // Both replicas behind the load balancer end up serving the new one.
    await until(async () => {
      for (let i = 0; i < 6; i++) {
        if ((await httpsGet(stack.lb, 'tls.example.com', ca.cert)).fingerprint !== secondFingerprint)
          return undefined;
      }
      return true;
    }, 'the new certificate served');
  });
});
