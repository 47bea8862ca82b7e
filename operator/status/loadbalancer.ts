// The address published in `status.loadBalancer` of Sluice's Ingresses: configured addresses
// when given, else the data-plane Service's load-balancer status, else its external IPs.

import { isIP } from 'node:net';
import type { V1IngressLoadBalancerIngress, V1Service } from '@kubernetes/client-node';

export function parsePublishAddresses(list: string): V1IngressLoadBalancerIngress[] {
  const out: V1IngressLoadBalancerIngress[] = [];
  for (const raw of list.split(',')) {
    const a = raw.trim();
    if (a === '') continue;
    if (isIP(a)) out.push({ ip: a });
    else if (
      /^(?=.{1,253}$)[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?(\.[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)*$/.test(a)
    ) {
      out.push({ hostname: a });
    } else throw new Error(`publish address ${JSON.stringify(a)} is neither an IP address nor a DNS name`);
  }
  return out;
}

export function loadBalancerAddresses(
  configured: V1IngressLoadBalancerIngress[] | undefined,
  service: V1Service | undefined,
): V1IngressLoadBalancerIngress[] {
  if (configured && configured.length > 0) return configured;
  const out: V1IngressLoadBalancerIngress[] = [];
  for (const lb of service?.status?.loadBalancer?.ingress ?? []) {
    if (lb.ip) out.push({ ip: lb.ip });
    else if (lb.hostname) out.push({ hostname: lb.hostname });
  }
  if (out.length > 0) return out;
  for (const ip of service?.spec?.externalIPs ?? []) out.push({ ip });
  return out;
}
