// Request rate and concurrency limits per client address (the address after trusted proxies), as
// ingress-nginx sets nginx's limit_req (burst, nodelay) and limit_conn; over a limit the answer is
// 503, nginx's default status. State is per data-plane replica: N replicas let a client through N
// times the rate.
//
// State lives in zones keyed by the Ingress and its limits, outside the routing table, so a config
// push that keeps them keeps the counters. Memory is bounded: a client whose bucket has drained is
// no different from a new one and is dropped (the oldest entries are checked on every request),
// a zone holds at most MAX_CLIENTS buckets (the least recently seen go first), and empty zones are
// dropped when a config is applied.

import { BlockList, isIP } from 'node:net';
import type { LimitsPolicy } from '../../contract/types.ts';
import type { StepFactory } from './steps.ts';

export const MAX_CLIENTS = 100_000;

interface Bucket {
  /** Requests above the rate, in thousandths (nginx's `excess`). */
  excess: number;
  /** ms (monotonic) of the last accepted request. */
  last: number;
}

interface Rate {
  /** Thousandths of a request per ms. */
  perMs: number;
  /** Largest excess, in thousandths. */
  burst: number;
  buckets: Map<string, Bucket>;
}

interface Zone {
  rates: Rate[];
  connections: Map<string, number>;
}

const zones = new Map<string, Zone>();

function zoneFor(ingress: string, limits: LimitsPolicy): Zone {
  const key = `${ingress} ${JSON.stringify(limits.rates)}`;
  let zone = zones.get(key);
  if (zone === undefined) {
    zone = {
      rates: limits.rates.map((r) => ({
        perMs: (r.rate * 1000) / (r.per === 'second' ? 1000 : 60_000),
        burst: r.burst * 1000,
        buckets: new Map(),
      })),
      connections: new Map(),
    };
    zones.set(key, zone);
  }
  return zone;
}

/** nginx's excess for one more request now: what is left after leaking, plus this request. */
function excessNow(rate: Rate, bucket: Bucket, now: number): number {
  return Math.max(0, bucket.excess - rate.perMs * (now - bucket.last) + 1000);
}

/** Drops buckets that would count as new (the oldest end; at most `max` looked at). */
function sweep(rate: Rate, now: number, max: number): void {
  let n = 0;
  for (const [client, bucket] of rate.buckets) {
    if (n++ >= max || excessNow(rate, bucket, now) > 0) break;
    rate.buckets.delete(client);
  }
}

function pruneZones(): void {
  const now = performance.now();
  for (const [key, zone] of zones) {
    for (const rate of zone.rates) sweep(rate, now, Number.POSITIVE_INFINITY);
    if (zone.connections.size === 0 && zone.rates.every((r) => r.buckets.size === 0)) zones.delete(key);
  }
}

/**
 * Whether a request from `client` is within every rate (nginx's limit_req with nodelay: a new
 * client starts at excess 0, each request adds one, the rate leaks it away, and above `burst` the
 * request is refused without being counted); commits to all only when every rate admits it.
 */
function admit(rates: Rate[], client: string, now: number): boolean {
  const next: number[] = [];
  for (const rate of rates) {
    sweep(rate, now, 2);
    const bucket = rate.buckets.get(client);
    const excess = bucket === undefined ? 0 : excessNow(rate, bucket, now);
    if (excess > rate.burst) return false;
    next.push(excess);
  }
  for (let i = 0; i < rates.length; i++) {
    const buckets = rates[i].buckets;
    buckets.delete(client);
    buckets.set(client, { excess: next[i], last: now });
    if (buckets.size > MAX_CLIENTS) buckets.delete(buckets.keys().next().value!);
  }
  return true;
}

export const limitsStep: StepFactory = (policy, route) => {
  const limits = policy.limits;
  if (limits === undefined) return undefined;
  pruneZones();
  const zone = zoneFor(route.ingress, limits);
  const exempt = new BlockList();
  for (const cidr of limits.exempt) {
    const [address, bits] = cidr.split('/');
    const family = isIP(address);
    if (family !== 0) exempt.addSubnet(address, Number(bits), family === 6 ? 'ipv6' : 'ipv4');
  }
  const maxConnections = limits.connections;
  const rates = zone.rates;
  const connections = zone.connections;
  return (ctx) => {
    const client = ctx.p.client;
    const family = isIP(client);
    if (family !== 0 && exempt.check(client, family === 6 ? 'ipv6' : 'ipv4')) return false;
    if (rates.length > 0 && !admit(rates, client, performance.now())) {
      ctx.reply(503, 'request rate limit exceeded');
      return true;
    }
    if (maxConnections !== undefined) {
      const open = connections.get(client) ?? 0;
      if (open >= maxConnections) {
        ctx.reply(503, 'connection limit exceeded');
        return true;
      }
      connections.set(client, open + 1);
      let released = false;
      const release = () => {
        if (released) return;
        released = true;
        const left = (connections.get(client) ?? 1) - 1;
        if (left > 0) connections.set(client, left);
        else connections.delete(client);
      };
      // A request is counted until its answer is done; a WebSocket tunnel until it closes.
      ctx.whenDone(release);
    }
    return false;
  };
};
