// ingress-nginx's request limits: `limit-rps` and `limit-rpm` (nginx limit_req with
// burst = rate x `limit-burst-multiplier` and nodelay), `limit-connections` (limit_conn) and
// `limit-whitelist` / `limit-allowlist` (CIDRs exempt from all of them). Counted per client address
// and per data-plane replica. A value that cannot be read is a problem: the Ingress is not routed
// rather than served without its limit.

import type { LimitsPolicy } from '../../../../contract/types.ts';
import { quote } from '../../core/objects.ts';
import { canonicalCidr } from './access.ts';
import type { NginxGroup, NginxReader, SettingsBuilder } from './group.ts';

const MAX_RATE = 1_000_000;
const MAX_MULTIPLIER = 100;
const MAX_CONNECTIONS = 1_000_000;
const MAX_EXEMPT = 1000;
const MAX_CHARS = 64 * 1024;

/** A whole number in 0..max, or undefined (with a problem). ingress-nginx treats 0 as "off". */
function readCount(read: NginxReader, name: string, max: number): number | undefined {
  const value = read.get(name);
  if (value === undefined) return undefined;
  // Spaces around the number are fine; CR, LF or other control characters are not.
  const trimmed = value.replace(/^ +| +$/g, '');
  if (!/^[0-9]{1,9}$/.test(trimmed) || Number(trimmed) > max) {
    read.problem(name, `must be a whole number from 0 to ${max}, not ${quote(value)}`);
    return undefined;
  }
  return Number(trimmed);
}

function readExempt(read: NginxReader, name: string): string[] | undefined {
  const value = read.get(name);
  if (value === undefined) return undefined;
  if (value.length > MAX_CHARS) {
    read.problem(name, `must be at most ${MAX_CHARS} characters`);
    return undefined;
  }
  const out: string[] = [];
  const entries = value.split(',').map((e) => e.trim());
  if (entries.length > MAX_EXEMPT) {
    read.problem(name, `must list at most ${MAX_EXEMPT} ranges`);
    return undefined;
  }
  for (const entry of entries) {
    if (entry === '') continue;
    const cidr = canonicalCidr(entry);
    if (cidr === undefined) {
      read.problem(
        name,
        `must be comma-separated IPv4/IPv6 addresses or CIDRs (10.0.0.0/8, 2001:db8::/32), not ${quote(entry)}`,
      );
      return undefined;
    }
    if (!out.includes(cidr)) out.push(cidr);
  }
  return out.sort();
}

export const limits: NginxGroup = {
  names: [
    'limit-rps',
    'limit-rpm',
    'limit-burst-multiplier',
    'limit-connections',
    'limit-whitelist',
    'limit-allowlist',
  ],
  differences: {
    'limit-rps': 'counted per data-plane replica, as ingress-nginx counts per controller pod',
    'limit-rpm': 'counted per data-plane replica, as ingress-nginx counts per controller pod',
    'limit-connections':
      'counts requests in progress per client address (WebSocket tunnels while open), per data-plane replica',
  },
  parse(read: NginxReader, out: SettingsBuilder): void {
    const rps = readCount(read, 'limit-rps', MAX_RATE);
    const rpm = readCount(read, 'limit-rpm', MAX_RATE);
    const multiplier = readCount(read, 'limit-burst-multiplier', MAX_MULTIPLIER);
    const connections = readCount(read, 'limit-connections', MAX_CONNECTIONS);
    const whitelist = readExempt(read, 'limit-whitelist');
    const allowlist = readExempt(read, 'limit-allowlist');
    if (multiplier === 0) read.problem('limit-burst-multiplier', 'must be at least 1');
    // ingress-nginx's default multiplier is 5.
    const burstOf = (rate: number) => Math.min(rate * (multiplier || 5), 100_000_000);
    const rates: LimitsPolicy['rates'] = [];
    // Keys in sorted order, entries in a fixed order (minute, then second).
    if (rpm) rates.push({ burst: burstOf(rpm), per: 'minute', rate: rpm });
    if (rps) rates.push({ burst: burstOf(rps), per: 'second', rate: rps });
    if (rates.length === 0 && !connections) {
      for (const name of ['limit-whitelist', 'limit-allowlist', 'limit-burst-multiplier']) {
        if (read.get(name) !== undefined)
          read.notice(name, 'has no effect without limit-rps, limit-rpm or limit-connections');
      }
      return;
    }
    const exempt = [...new Set([...(whitelist ?? []), ...(allowlist ?? [])])].sort();
    const policy: LimitsPolicy = connections ? { connections, exempt, rates } : { exempt, rates };
    out.policy.limits = policy;
  },
};
