// ingress-nginx's source-range access lists: `allowlist-source-range` (or its older name
// `whitelist-source-range`) and `denylist-source-range`, comma-separated CIDRs or addresses. A list
// that cannot be read in full is a problem: the Ingress is not routed, it is never left open.

import { isIPv4, isIPv6 } from 'node:net';
import { quote } from '../../core/objects.ts';
import type { NginxGroup, NginxReader, SettingsBuilder } from './group.ts';

const MAX_ENTRIES = 1000;
const MAX_CHARS = 64 * 1024;

/** `10.0.0.0/8`, `10.1.2.3`, `2001:db8::/32` or `::1` in canonical CIDR form, or undefined. */
export function canonicalCidr(entry: string): string | undefined {
  const slash = entry.indexOf('/');
  const address = slash === -1 ? entry : entry.slice(0, slash);
  const prefixText = slash === -1 ? undefined : entry.slice(slash + 1);
  const v4 = isIPv4(address);
  if (!v4 && !isIPv6(address)) return undefined;
  // Zone ids (`fe80::1%eth0`) name an interface, not a range.
  if (address.includes('%')) return undefined;
  const max = v4 ? 32 : 128;
  let prefix = max;
  if (prefixText !== undefined) {
    if (!/^[0-9]{1,3}$/.test(prefixText)) return undefined;
    prefix = Number(prefixText);
    if (prefix > max) return undefined;
  }
  return `${v4 ? address : canonicalIPv6(address)}/${prefix}`;
}

/** The IPv6 address as node:net's URL parser writes it (lower case, `::` compressed). */
function canonicalIPv6(address: string): string {
  return new URL(`http://[${address}]/`).hostname.slice(1, -1);
}

/** Reads a list; a problem (and undefined) unless every entry is an address or CIDR. */
function readList(read: NginxReader, name: string): string[] | undefined {
  const value = read.get(name);
  if (value === undefined) return undefined;
  if (value.length > MAX_CHARS) {
    read.problem(name, `must be at most ${MAX_CHARS} characters`);
    return undefined;
  }
  const entries = value.split(',').map((e) => e.trim());
  if (entries.length > MAX_ENTRIES) {
    read.problem(name, `must list at most ${MAX_ENTRIES} ranges`);
    return undefined;
  }
  const out: string[] = [];
  for (const entry of entries) {
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
  return out;
}

export const access: NginxGroup = {
  names: ['allowlist-source-range', 'whitelist-source-range', 'denylist-source-range'],
  differences: {
    'allowlist-source-range':
      'an entry that is not an address or CIDR keeps the whole Ingress from being served (ingress-nginx answers 503 on its paths)',
    'whitelist-source-range':
      'an entry that is not an address or CIDR keeps the whole Ingress from being served (ingress-nginx answers 503 on its paths)',
    'denylist-source-range':
      'an entry that is not an address or CIDR keeps the whole Ingress from being served',
  },
  parse(read: NginxReader, out: SettingsBuilder): void {
    const allowlist = readList(read, 'allowlist-source-range');
    const whitelist = readList(read, 'whitelist-source-range');
    const deny = readList(read, 'denylist-source-range');
    let allow = allowlist ?? whitelist;
    if (allowlist !== undefined && whitelist !== undefined) {
      // Two spellings of one list: the same list is fine, two different ones are ambiguous.
      const same = allowlist.length === whitelist.length && allowlist.every((c) => whitelist.includes(c));
      if (!same) {
        read.problem(
          'whitelist-source-range',
          'differs from allowlist-source-range, which has the same meaning; keep one of the two',
        );
        allow = undefined;
      }
    }
    const ranges: { allow?: string[]; deny?: string[] } = {};
    if (allow !== undefined) ranges.allow = allow;
    if (deny !== undefined) ranges.deny = deny;
    if (ranges.allow !== undefined || ranges.deny !== undefined) out.policy.sourceRanges = ranges;
  },
};
