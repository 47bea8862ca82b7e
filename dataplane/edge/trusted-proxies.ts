// Which peers may tell us about the original client (X-Forwarded-*, X-Request-Id). Everyone else
// gets those headers overwritten.

import { BlockList, isIP } from 'node:net';

export class TrustedProxies {
  readonly #list = new BlockList();
  readonly #empty: boolean;

  /** CIDRs (`10.0.0.0/8`, `fd00::/8`) or single addresses; throws on anything else. */
  constructor(cidrs: readonly string[]) {
    for (const raw of cidrs) {
      const entry = raw.trim();
      if (entry === '') continue;
      const slash = entry.indexOf('/');
      const addr = slash === -1 ? entry : entry.slice(0, slash);
      const family = isIP(addr);
      if (family === 0)
        throw new Error(`trusted proxies: ${JSON.stringify(entry)} is not an IP address or CIDR`);
      const type = family === 4 ? 'ipv4' : 'ipv6';
      if (slash === -1) {
        this.#list.addAddress(addr, type);
        continue;
      }
      const prefixText = entry.slice(slash + 1);
      const prefix = Number(prefixText);
      if (!/^\d{1,3}$/.test(prefixText) || prefix > (family === 4 ? 32 : 128)) {
        throw new Error(`trusted proxies: ${JSON.stringify(entry)} has an invalid prefix length`);
      }
      this.#list.addSubnet(addr, prefix, type);
    }
    this.#empty = this.#list.rules.length === 0;
  }

  trusts(address: string | undefined): boolean {
    if (this.#empty || address === undefined) return false;
    const family = isIP(address);
    if (family === 0) return false;
    return this.#list.check(address, family === 4 ? 'ipv4' : 'ipv6');
  }

  /**
   * The original client: walk X-Forwarded-For from the right past trusted proxies. Only called
   * when the direct peer is trusted.
   */
  clientFrom(peer: string, forwardedFor: string | undefined): string {
    if (forwardedFor === undefined) return peer;
    const hops = forwardedFor.split(',');
    let client = peer;
    for (let i = hops.length - 1; i >= 0; i--) {
      const hop = hops[i].trim();
      if (isIP(hop) === 0) break;
      client = hop;
      if (!this.trusts(hop)) break;
    }
    return client;
  }
}

/** `::ffff:10.0.0.1` as `10.0.0.1`, so IPv4 clients on a dual-stack socket look like IPv4. */
export function plainAddress(address: string | undefined): string {
  if (address === undefined) return '';
  return address.startsWith('::ffff:') && address.includes('.') ? address.slice(7) : address;
}
