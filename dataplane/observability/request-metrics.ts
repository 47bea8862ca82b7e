// Per-request metrics kept as plain numbers and turned into Prometheus samples only when scraped.
// prom-client hashes the label set on every increment, even through a bound child; at proxy
// rates that costs more than the rest of the bookkeeping together, so the traffic path only
// bumps counters in objects it already holds.

import type { Metric, Registry } from 'prom-client';

export const DURATION_BUCKETS = [
  0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30,
];

interface Counter {
  backend: string;
  code: number;
  n: number;
}

interface Series {
  host: string;
  route: string;
  /** The counter used last: most requests of a route go to the same backend with the same code. */
  last: Counter | undefined;
  /** Requests by `backend\0code`. */
  counts: Map<string, Counter>;
  /** Cumulative-at-scrape histogram: per-bucket counts (last = +Inf), sum, count. */
  buckets: Float64Array;
  sum: number;
  count: number;
}

type Sample = { labels: Record<string, string | number>; value: number; metricName?: string };

export class RequestMetrics {
  readonly #series = new Map<string, Series>();
  readonly #byKey = new WeakMap<object, Series>();

  /** `key` identifies the series cheaply (a route object); host/route are its labels. */
  record(
    key: object | undefined,
    host: string,
    route: string,
    backend: string,
    code: number,
    seconds: number,
  ): void {
    let s = key !== undefined ? this.#byKey.get(key) : undefined;
    if (s === undefined) {
      const id = `${host}\0${route}`;
      s = this.#series.get(id);
      if (s === undefined) {
        s = {
          host,
          route,
          last: undefined,
          counts: new Map(),
          buckets: new Float64Array(DURATION_BUCKETS.length + 1),
          sum: 0,
          count: 0,
        };
        this.#series.set(id, s);
      }
      if (key !== undefined) this.#byKey.set(key, s);
    }
    let c = s.last;
    if (c === undefined || c.code !== code || c.backend !== backend) {
      const ck = `${backend}\0${code}`;
      c = s.counts.get(ck);
      if (c === undefined) {
        c = { backend, code, n: 0 };
        s.counts.set(ck, c);
      }
      s.last = c;
    }
    c.n++;
    let i = 0;
    while (i < DURATION_BUCKETS.length && seconds > DURATION_BUCKETS[i]) i++;
    s.buckets[i]++;
    s.sum += seconds;
    s.count++;
  }

  register(registry: Registry): void {
    const series = this.#series;
    const counter = {
      name: 'sluice_requests_total',
      help: 'Requests answered, by virtual host, route, backend and status code.',
      type: 'counter',
      aggregator: 'sum',
      get() {
        const values: Sample[] = [];
        for (const s of series.values()) {
          for (const c of s.counts.values()) {
            values.push({
              labels: { host: s.host, route: s.route, backend: c.backend, code: c.code },
              value: c.n,
            });
          }
        }
        return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values };
      },
      reset() {},
    };
    const histogram = {
      name: 'sluice_request_duration_seconds',
      help: 'Time from request start to the end of the response.',
      type: 'histogram',
      aggregator: 'sum',
      get() {
        const values: Sample[] = [];
        for (const s of series.values()) {
          const labels = { host: s.host, route: s.route };
          let cumulative = 0;
          for (let i = 0; i <= DURATION_BUCKETS.length; i++) {
            cumulative += s.buckets[i];
            const le = i < DURATION_BUCKETS.length ? DURATION_BUCKETS[i] : '+Inf';
            values.push({ labels: { le, ...labels }, value: cumulative, metricName: `${this.name}_bucket` });
          }
          values.push({ labels, value: s.sum, metricName: `${this.name}_sum` });
          values.push({ labels, value: s.count, metricName: `${this.name}_count` });
        }
        return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values };
      },
      reset() {},
    };
    registry.registerMetric(counter as unknown as Metric);
    registry.registerMetric(histogram as unknown as Metric);
  }
}
