import assert from 'node:assert/strict';
import { test } from 'node:test';
import { plainAddress, TrustedProxies } from './trusted-proxies.ts';

test('CIDRs and single addresses, IPv4 and IPv6', () => {
  const t = new TrustedProxies(['10.0.0.0/8', '192.168.1.7', 'fd00::/8']);
  assert.equal(t.trusts('10.200.3.4'), true);
  assert.equal(t.trusts('11.0.0.1'), false);
  assert.equal(t.trusts('192.168.1.7'), true);
  assert.equal(t.trusts('192.168.1.8'), false);
  assert.equal(t.trusts('fd12::1'), true);
  assert.equal(t.trusts('fe80::1'), false);
  assert.equal(t.trusts('not-an-ip'), false);
});

test('an empty list trusts nobody', () => {
  assert.equal(new TrustedProxies([]).trusts('127.0.0.1'), false);
});

test('bad entries are refused with a readable error', () => {
  assert.throws(() => new TrustedProxies(['10.0.0.0/33']), /invalid prefix length/);
  assert.throws(() => new TrustedProxies(['example.com']), /not an IP address/);
});

test('the client is the first untrusted hop from the right', () => {
  const t = new TrustedProxies(['10.0.0.0/8']);
  assert.equal(t.clientFrom('10.0.0.1', '1.2.3.4, 10.0.0.2'), '1.2.3.4');
  assert.equal(t.clientFrom('10.0.0.1', '6.6.6.6, 1.2.3.4'), '1.2.3.4');
  assert.equal(t.clientFrom('10.0.0.1', undefined), '10.0.0.1');
  assert.equal(t.clientFrom('10.0.0.1', 'garbage, 10.0.0.3'), '10.0.0.3');
});

test('IPv4-mapped IPv6 addresses read as IPv4', () => {
  assert.equal(plainAddress('::ffff:10.1.2.3'), '10.1.2.3');
  assert.equal(plainAddress('::1'), '::1');
});
