import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadBalancerAddresses, parsePublishAddresses } from './loadbalancer.ts';

test('configured addresses win, then the Service load balancer, then external IPs', () => {
  const svc = {
    spec: { externalIPs: ['198.18.1.1'] },
    status: { loadBalancer: { ingress: [{ ip: '198.18.2.2' }, { hostname: 'lb.example.com' }] } },
  };
  assert.deepEqual(loadBalancerAddresses(parsePublishAddresses('198.18.3.3, edge.example.com'), svc), [
    { ip: '198.18.3.3' },
    { hostname: 'edge.example.com' },
  ]);
  assert.deepEqual(loadBalancerAddresses(undefined, svc), [
    { ip: '198.18.2.2' },
    { hostname: 'lb.example.com' },
  ]);
  assert.deepEqual(loadBalancerAddresses([], { spec: svc.spec }), [{ ip: '198.18.1.1' }]);
  assert.deepEqual(loadBalancerAddresses(undefined, undefined), []);
});

test('publish addresses must be IPs or DNS names', () => {
  assert.deepEqual(parsePublishAddresses('::1'), [{ ip: '::1' }]);
  assert.throws(() => parsePublishAddresses('not a host'), /neither an IP address nor a DNS name/);
  assert.throws(() => parsePublishAddresses('http://x'), /neither/);
});
