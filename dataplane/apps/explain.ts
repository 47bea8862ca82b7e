// `/debug/explain`: which route and backend a URL would take under the applied config, and why.
// Read-only: it never advances round-robin state.

import { normalizeHost, normalizeTarget } from '../../contract/normalize.ts';
import type { RoutingTable } from '../routing/table.ts';

export type Explanation = { ok: true; body: Record<string, unknown> } | { ok: false; error: string };

export function explain(table: RoutingTable, url: string, opts: { key?: string } = {}): Explanation {
  const scheme = /^(https?):\/\//i.exec(url)?.[1]?.toLowerCase();
  if (scheme === undefined)
    return { ok: false, error: 'url must be absolute: http://host/path or https://host/path' };
  const target = normalizeTarget(url);
  if (!target.ok) return { ok: false, error: `request would be refused with 400: ${target.reason}` };
  const host = normalizeHost(target.authority ?? '');
  if (host === null) return { ok: false, error: 'request would be refused with 400: invalid host' };

  const trace = table.trace(host, target.path);
  const route = trace.route;
  const body: Record<string, unknown> = {
    configVersion: table.version,
    request: { scheme, host, path: target.path, query: target.query || undefined },
    virtualHostsTried: trace.tried,
  };
  if (route === undefined) {
    body.result = 'no route: 404';
    return { ok: true, body };
  }
  body.route = route.vhost
    ? {
        virtualHost: { kind: route.vhost.kind, host: route.vhost.host, tls: route.vhost.tls !== undefined },
        path: route.path,
        pathType: route.pathType,
        source: route.source,
        httpsRedirect: route.httpsRedirect,
      }
    : { default: true, source: route.source, why: 'no host and path rule matched' };
  body.policy = route.policy;
  if (route.httpsRedirect && scheme === 'http') {
    body.result = 'redirect: 308 to https';
    return { ok: true, body };
  }
  const split = route.split;
  const total = split.backends.reduce((a, b) => a + b.weight, 0);
  body.split = {
    mode: split.mode,
    routeRatio: split.routeRatio,
    sticky: split.sticky,
    overrides: split.overrides,
    backends: split.backends.map((b) => {
      const backend = table.config.backends[b.backend];
      return {
        name: b.name,
        backend: b.backend,
        weight: b.weight,
        percent: total > 0 ? Math.round((b.weight / total) * 10_000) / 100 : 0,
        endpoints: backend?.endpoints.map((e) => `${e.address}:${e.port}`) ?? [],
      };
    }),
  };
  if (total === 0) {
    body.result = 'every weight is 0: 503 with Retry-After';
  } else if (split.mode === 'sticky' && opts.key !== undefined) {
    const pick = route.splitter.bucketFor(opts.key);
    if (pick !== undefined) {
      body.result = `sticky key in bucket ${pick.bucket} of 10000: backend ${split.backends[pick.index].backend}`;
    }
  } else {
    body.result =
      split.mode === 'sticky'
        ? 'sticky: the client key picks a bucket (pass key=... to see which backend)'
        : 'smooth weighted round robin over the backends above';
  }
  return { ok: true, body };
}
