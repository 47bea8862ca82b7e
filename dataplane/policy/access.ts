// Source-range access lists: the client address (after trusted proxies) in a `deny` range, or
// outside the `allow` ranges when they are given, is refused with 403, as nginx's `deny`/`allow`
// with the deny entries first. Plain requests and WebSocket upgrades alike.

import { BlockList, isIP } from 'node:net';
import type { StepFactory } from './steps.ts';

interface Ranges {
  list: BlockList;
  /** An entry the data plane could not take: the list then matches every address (fail closed). */
  broken: boolean;
}

function ranges(cidrs: readonly string[]): Ranges {
  const list = new BlockList();
  let broken = false;
  for (const cidr of cidrs) {
    const slash = cidr.indexOf('/');
    const address = cidr.slice(0, slash);
    const family = isIP(address);
    try {
      if (family === 0) throw new Error('not an address');
      list.addSubnet(address, Number(cidr.slice(slash + 1)), family === 4 ? 'ipv4' : 'ipv6');
    } catch {
      broken = true;
    }
  }
  return { list, broken };
}

/** `::ffff:10.0.0.1` is the IPv4 client 10.0.0.1 (a dual-stack socket or a proxy's header). */
function clientAddress(client: string): { address: string; type: 'ipv4' | 'ipv6' } | undefined {
  let address = client;
  if (address.toLowerCase().startsWith('::ffff:') && isIP(address.slice(7)) === 4) address = address.slice(7);
  const family = isIP(address);
  if (family === 0) return undefined;
  return { address, type: family === 4 ? 'ipv4' : 'ipv6' };
}

export const accessStep: StepFactory = (policy) => {
  const sourceRanges = policy.sourceRanges;
  if (sourceRanges === undefined) return undefined;
  const deny = sourceRanges.deny !== undefined ? ranges(sourceRanges.deny) : undefined;
  const allow = sourceRanges.allow !== undefined ? ranges(sourceRanges.allow) : undefined;
  return (ctx) => {
    const client = clientAddress(ctx.p.client);
    // No usable address cannot be shown to be outside a deny list or inside an allow list.
    const refused =
      client === undefined ||
      (deny !== undefined && (deny.broken || deny.list.check(client.address, client.type))) ||
      (allow !== undefined && (allow.broken || !allow.list.check(client.address, client.type)));
    if (!refused) return false;
    ctx.reply(403, 'forbidden');
    return true;
  };
};
