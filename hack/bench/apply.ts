// Config apply benchmark (not a test): how long the data plane takes to apply a whole config (PUT)
// and a patch (PATCH) at 1,000 and 10,000 Ingresses shaped like hack/bench/compile.ts's (see
// dataplane/testing/large-config.ts; `--tls=<share>` gives that share of hosts a certificate). Times are the store's
// work after the body is parsed (validation, patching, hashing, table compile and swap), medians
// over `--runs` patches, each sent over the wire (stringified and parsed) as the operator sends it.
//
//   npm run bench:apply -- [--sizes=1000,10000] [--runs=41] [--tls=0]

import { performance } from 'node:perf_hooks';
import { serializeConfig } from '../../contract/canonical.ts';
import { diffConfigs } from '../../contract/patch.ts';
import {
  largeBackend,
  largeBackends,
  largeConfig,
  largeHost,
  withEntries,
  withVersion,
} from '../../contract/testing/large-config.ts';
import type { DataplaneConfig } from '../../contract/types.ts';
import { ConfigStore } from '../../dataplane/config/store.ts';
import { selfSignedCertificate } from '../../dataplane/edge/self-signed.ts';
import { SecureContextCache } from '../../dataplane/edge/sni.ts';
import { UpstreamRegistry } from '../../dataplane/upstream/registry.ts';

function flag(name: string, fallback: string): string {
  const arg = process.argv.find((a) => a.startsWith(`--${name}=`));
  return arg ? arg.slice(name.length + 3) : fallback;
}

const sizes = flag('sizes', '1000,10000').split(',').map(Number);
const runs = Number(flag('runs', '41'));
const tlsShare = Number(flag('tls', '0'));
const pem = tlsShare > 0 ? await selfSignedCertificate({ commonName: 'bench', names: ['bench'] }) : undefined;
const large = { tlsShare, pem: pem && { certPem: pem.certPem, keyPem: pem.keyPem } };

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1];
}

function newStore(): { store: ConfigStore; registry: UpstreamRegistry } {
  const registry = new UpstreamRegistry({
    maxConnectionsPerEndpoint: 4,
    keepAliveTimeoutMs: 1000,
    ejectBaseMs: 100,
    ejectMaxMs: 1000,
  });
  const store = new ConfigStore({ registry, contexts: new SecureContextCache(), fallbackContext: undefined });
  return { registry, store };
}

function timed<T>(f: () => T): [T, number] {
  const t = performance.now();
  const out = f();
  return [out, performance.now() - t];
}

const fmt = (ms: number) => `${ms.toFixed(1)} ms`;

for (const size of sizes) {
  const base = largeConfig(size, large);
  const text = serializeConfig(base, true).text;
  console.log(
    `${size} hosts, ${Object.keys(base.backends).length} backends, ${Object.keys(base.certificates).length} certificates, ${(text.length / 2 ** 20).toFixed(1)} MiB`,
  );

  const puts: number[] = [];
  const parses: number[] = [];
  for (let r = 0; r < 5; r++) {
    const [body, parse] = timed(() => JSON.parse(text));
    const fresh = newStore();
    const [result, ms] = timed(() => fresh.store.apply(body));
    if (!result.ok) throw new Error(result.errors.join('; '));
    fresh.store.retire();
    await fresh.registry.closeAll();
    parses.push(parse);
    puts.push(ms);
  }
  console.log(`  JSON.parse of the whole config: median ${fmt(median(parses))}`);
  console.log(
    `  PUT to a fresh replica: median ${fmt(median(puts))} (${puts.map((p) => p.toFixed(0)).join(', ')})`,
  );

  // The replica that gets the patches starts from a PUT, as a real one does; a second PUT of an
  // edited config shows a full push over a running config (every object new after parsing).
  const { store, registry } = newStore();
  const first = store.apply(JSON.parse(text));
  if (!first.ok) throw new Error(first.errors.join('; '));
  let current = base;
  const edited = withVersion({
    ...base,
    virtualHosts: base.virtualHosts.map((v, i) => (i === 0 ? largeHost(0, 999, large) : v)),
  });
  const body = JSON.parse(serializeConfig(edited, true).text);
  const [again, reput] = timed(() => store.apply(body));
  if (!again.ok) throw new Error(again.errors.join('; '));
  current = edited;
  console.log(`  PUT over an applied config: ${fmt(reput)}`);

  const measure = (label: string, change: (c: DataplaneConfig, r: number) => DataplaneConfig) => {
    const times: number[] = [];
    let bytes = 0;
    for (let r = 0; r < runs; r++) {
      const next = withVersion(change(current, r));
      const wire = JSON.stringify(diffConfigs(current, next));
      bytes = wire.length;
      const patch = JSON.parse(wire);
      const [result, ms] = timed(() => store.patch(patch));
      if (!result.ok || !result.changed) throw new Error(`${label}: ${JSON.stringify(result)}`);
      times.push(ms);
      current = next;
    }
    const sorted = [...times].sort((a, b) => a - b);
    console.log(
      `  PATCH ${label}: median ${fmt(median(times))}, p90 ${fmt(sorted[Math.floor(sorted.length * 0.9)])}, max ${fmt(sorted[sorted.length - 1])} (${bytes} bytes)`,
    );
  };
  // Spread over the config: the hash is recomputed from the first changed byte on.
  const pick = (r: number) => (r * 7919) % size;
  measure('one host edited (path)', (c, r) => {
    const i = pick(r);
    const name = largeHost(i).host;
    return {
      ...c,
      virtualHosts: c.virtualHosts.map((v) => (v.host === name ? largeHost(i, r + 1, large) : v)),
    };
  });
  measure('one backend edited (endpoints)', (c, r) => {
    const i = pick(r + 1000);
    const key = `team-${i % 50}/app-${i}:80`;
    return {
      ...c,
      backends: { ...c.backends, [key]: largeBackend(`team-${i % 50}`, `app-${i}`, '80', i + r + 7) },
    };
  });
  measure('one Ingress added (host and backends)', (c, r) => {
    const i = size + r;
    const vh = largeHost(i, 0, large);
    const virtualHosts = [...c.virtualHosts, vh].sort((a, b) => (a.host < b.host ? -1 : 1));
    const certificates =
      vh.tls && large.pem ? withEntries(c.certificates, { [vh.tls.certificate]: large.pem }) : c.certificates;
    return { ...c, backends: withEntries(c.backends, largeBackends(i, size)), certificates, virtualHosts };
  });
  measure('one Ingress deleted (host and backends)', (c, r) => {
    const i = pick(r + 2000);
    const name = largeHost(i).host;
    const backends = { ...c.backends };
    for (const key of Object.keys(largeBackends(i, size))) delete backends[key];
    return { ...c, backends, virtualHosts: c.virtualHosts.filter((v) => v.host !== name) };
  });
  store.retire();
  await registry.closeAll();
}
