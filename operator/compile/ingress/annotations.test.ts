import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DEFAULT_POLICY, parseAnnotations, parseDuration, parseSize } from './annotations.ts';

test('sizes use binary units like nginx', () => {
  assert.equal(parseSize('1m'), 1_048_576);
  assert.equal(parseSize('512k'), 524_288);
  assert.equal(parseSize('2G'), 2 * 1024 ** 3);
  assert.equal(parseSize('1000'), 1000);
  for (const bad of ['1 m', '1mb', '-1', '', '1.5m', 'm']) assert.equal(parseSize(bad), undefined, bad);
});

test('durations take ms, s, m, h and sums', () => {
  assert.equal(parseDuration('500ms'), 500);
  assert.equal(parseDuration('5s'), 5000);
  assert.equal(parseDuration('1m30s'), 90_000);
  assert.equal(parseDuration('1h'), 3_600_000);
  for (const bad of ['5', '5 s', '1.5s', 's', '', '5sec']) assert.equal(parseDuration(bad), undefined, bad);
});

test('defaults without annotations', () => {
  const r = parseAnnotations({ 'other.example/x': 'y' });
  assert.deepEqual(r.problems, []);
  assert.deepEqual(r.settings, { policy: DEFAULT_POLICY, sslRedirect: true });
});

test('typed values set the policy', () => {
  const r = parseAnnotations({
    'sluice.dev/ssl-redirect': 'false',
    'sluice.dev/body-size-limit': '8m',
    'sluice.dev/connect-timeout': '250ms',
    'sluice.dev/response-timeout': '2m',
    'sluice.dev/backend-protocol': 'HTTPS',
  });
  assert.deepEqual(r.problems, []);
  assert.deepEqual(r.settings, {
    sslRedirect: false,
    policy: {
      maxBodyBytes: 8 * 1024 * 1024,
      connectTimeoutMs: 250,
      responseTimeoutMs: 120_000,
      upstreamProtocol: 'https',
    },
  });
});

test('unknown sluice.dev annotations and bad values are problems, with escaped values', () => {
  const r = parseAnnotations({
    'sluice.dev/server-snippet': 'x',
    'sluice.dev/backend-protocol': 'http\r\nx',
    'sluice.dev/connect-timeout': '10m',
    'sluice.dev/body-size-limit': '0',
  });
  assert.deepEqual(
    r.problems.map((p) => p.field),
    [
      'metadata.annotations["sluice.dev/backend-protocol"]',
      'metadata.annotations["sluice.dev/body-size-limit"]',
      'metadata.annotations["sluice.dev/connect-timeout"]',
      'metadata.annotations["sluice.dev/server-snippet"]',
    ],
  );
  assert.match(r.problems[0].message, /not "http\\r\\nx"/);
  assert.match(r.problems[3].message, /unknown Sluice annotation/);
  for (const p of r.problems) assert.doesNotMatch(p.message, /[\r\n]/);
});
