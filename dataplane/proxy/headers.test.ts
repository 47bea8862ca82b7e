import assert from 'node:assert/strict';
import { test } from 'node:test';
import { addForwardingHeaders, filterResponseHeaders, scanH2Headers, scanRawHeaders } from './headers.ts';

const pairs = (h: string[]) => {
  const out: Array<[string, string]> = [];
  for (let i = 0; i < h.length; i += 2) out.push([h[i].toLowerCase(), h[i + 1]]);
  return out;
};
const names = (h: string[]) => pairs(h).map(([n]) => n);

test('hop-by-hop headers and those named in Connection are dropped', () => {
  const scan = scanRawHeaders([
    'Host',
    'a.example',
    'Connection',
    'keep-alive, X-Secret, close',
    'Keep-Alive',
    'timeout=5',
    'X-Secret',
    'internal',
    'Proxy-Authorization',
    'Basic x',
    'TE',
    'trailers',
    'Trailer',
    'x',
    'Upgrade',
    'h2c',
    'Accept',
    'text/html',
    'Accept',
    'application/json',
  ]);
  assert.deepEqual(names(scan.headers), ['accept', 'accept']);
  assert.equal(scan.host, 'a.example');
  assert.equal(scan.hostCount, 1);
});

test('a Connection token cannot remove Host or Content-Length', () => {
  const scan = scanRawHeaders(['Host', 'a', 'Connection', 'host, content-length', 'Content-Length', '3']);
  assert.deepEqual(pairs(scan.headers), [['content-length', '3']]);
  assert.equal(scan.host, 'a');
});

test('headers with underscores are dropped; duplicate Host is counted', () => {
  const scan = scanRawHeaders(['Host', 'a', 'X_User', 'admin', 'X-User', 'bob', 'host', 'b']);
  assert.deepEqual(pairs(scan.headers), [['x-user', 'bob']]);
  assert.equal(scan.hostCount, 2);
});

test('untrusted peers: forwarding headers are overwritten', () => {
  const scan = scanRawHeaders([
    'Host',
    'a.example',
    'X-Forwarded-For',
    '6.6.6.6',
    'X-Forwarded-Proto',
    'https',
    'X-Forwarded-Host',
    'evil.example',
    'X-Real-IP',
    '6.6.6.6',
    'X-Request-Id',
    'chosen-by-client',
    'Forwarded',
    'for=6.6.6.6',
  ]);
  addForwardingHeaders(scan, {
    trusted: false,
    peer: '10.1.2.3',
    client: '10.1.2.3',
    proto: 'http',
    host: 'a.example',
    requestId: 'rid-1',
  });
  assert.deepEqual(Object.fromEntries(pairs(scan.headers)), {
    host: 'a.example',
    'x-forwarded-for': '10.1.2.3',
    'x-forwarded-proto': 'http',
    'x-forwarded-host': 'a.example',
    'x-real-ip': '10.1.2.3',
    'x-request-id': 'rid-1',
  });
});

test('trusted peers: X-Forwarded-For is appended, proto/host/forwarded kept', () => {
  const scan = scanRawHeaders([
    'Host',
    'a.example',
    'X-Forwarded-For',
    '1.1.1.1, 10.0.0.5',
    'X-Forwarded-Proto',
    'https',
    'X-Forwarded-Host',
    'shop.example',
    'Forwarded',
    'for=1.1.1.1',
  ]);
  addForwardingHeaders(scan, {
    trusted: true,
    peer: '10.0.0.9',
    client: '1.1.1.1',
    proto: 'https',
    host: 'a.example',
    requestId: 'r',
  });
  const h = Object.fromEntries(pairs(scan.headers));
  assert.equal(h['x-forwarded-for'], '1.1.1.1, 10.0.0.5, 10.0.0.9');
  assert.equal(h['x-forwarded-proto'], 'https');
  assert.equal(h['x-forwarded-host'], 'shop.example');
  assert.equal(h.forwarded, 'for=1.1.1.1');
  assert.equal(h['x-real-ip'], '1.1.1.1');
});

test('HTTP/2: pseudo-headers dropped, :authority is the host', () => {
  const scan = scanH2Headers({
    ':method': 'GET',
    ':path': '/x',
    ':authority': 'a.example',
    ':scheme': 'https',
    cookie: 'a=1; b=2',
    te: 'trailers',
  });
  assert.equal(scan.host, 'a.example');
  assert.deepEqual(pairs(scan.headers), [['cookie', 'a=1; b=2']]);
});

test('response: hop-by-hop and Connection-named headers removed', () => {
  const out = filterResponseHeaders({
    connection: 'x-internal',
    'x-internal': 'secret',
    'keep-alive': 'timeout=5',
    'transfer-encoding': 'chunked',
    'content-type': 'text/plain',
    'set-cookie': ['a=1', 'b=2'],
  });
  assert.deepEqual(out, { 'content-type': 'text/plain', 'set-cookie': ['a=1', 'b=2'] });
});

test('response: the backend Server header never passes (the edge sets its own or none)', () => {
  const out = filterResponseHeaders({ server: 'Apache/2.4.1 (Unix)', 'content-type': 'text/plain' });
  assert.deepEqual(out, { 'content-type': 'text/plain' });
});
