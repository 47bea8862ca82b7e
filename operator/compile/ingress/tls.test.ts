import assert from 'node:assert/strict';
import { test } from 'node:test';
import { cleanPem } from './tls.ts';

test('cleanPem keeps wanted blocks, re-wrapped with LF line ends', () => {
  const body = 'A'.repeat(100);
  const text = `junk\r\n-----BEGIN CERTIFICATE-----\r\n${body}\r\n-----END CERTIFICATE-----\r\n-----BEGIN OTHER-----\nAAAA\n-----END OTHER-----\n`;
  assert.deepEqual(
    cleanPem(text, (l) => l === 'CERTIFICATE'),
    [`-----BEGIN CERTIFICATE-----\n${'A'.repeat(64)}\n${'A'.repeat(36)}\n-----END CERTIFICATE-----\n`],
  );
});

test('cleanPem refuses missing blocks and non-base64 bodies', () => {
  assert.equal(
    cleanPem('nothing here', () => true),
    undefined,
  );
  assert.equal(
    cleanPem('-----BEGIN CERTIFICATE-----\nA*B\n-----END CERTIFICATE-----\n', () => true),
    undefined,
  );
  assert.equal(
    cleanPem('-----BEGIN CERTIFICATE-----\n\n-----END CERTIFICATE-----\n', () => true),
    undefined,
  );
});
