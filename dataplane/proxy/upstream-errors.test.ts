import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  BodyTooLargeError,
  ClientGoneError,
  classifyUpstreamError,
  isConnectFailure,
  statusForUpstreamError,
} from './upstream-errors.ts';

const status = (code: string) => statusForUpstreamError(classifyUpstreamError({ code }));

test('timeouts answer 504, refusals and resets 502', () => {
  assert.equal(status('UND_ERR_CONNECT_TIMEOUT'), 504);
  assert.equal(status('UND_ERR_HEADERS_TIMEOUT'), 504);
  assert.equal(status('ECONNREFUSED'), 502);
  assert.equal(status('ECONNRESET'), 502);
  assert.equal(status('UND_ERR_SOCKET'), 502);
  assert.equal(status('HPE_INVALID_CONSTANT'), 502);
  assert.equal(status('ERR_SSL_WRONG_VERSION_NUMBER'), 502);
  assert.equal(statusForUpstreamError(classifyUpstreamError(new BodyTooLargeError(10))), 413);
  assert.equal(classifyUpstreamError(new ClientGoneError()), 'client_aborted');
  assert.equal(classifyUpstreamError(new Error('no code')), 'other');
  assert.equal(classifyUpstreamError(null), 'other');
});

test('only connection-level failures eject an endpoint', () => {
  for (const code of [
    'ECONNREFUSED',
    'UND_ERR_CONNECT_TIMEOUT',
    'EHOSTUNREACH',
    'ERR_TLS_CERT_ALTNAME_INVALID',
  ]) {
    assert.equal(isConnectFailure(classifyUpstreamError({ code })), true, code);
  }
  for (const code of [
    'UND_ERR_HEADERS_TIMEOUT',
    'ECONNRESET',
    'HPE_INVALID_CONSTANT',
    'SLUICE_BODY_TOO_LARGE',
  ]) {
    assert.equal(isConnectFailure(classifyUpstreamError({ code })), false, code);
  }
});
