import assert from 'node:assert/strict';
import { test } from 'node:test';
import { until as poll } from '../../contract/testing/poll.ts';
import type { DataplaneConfig } from '../../contract/types.ts';
import { type PushClient, type PushCodec, Pusher, type PusherOptions } from './pusher.ts';
import type { Replica } from './replicas.ts';

/** In-memory data-plane replicas: what each runs, and how each misbehaves. */
class FakeReplicas implements PushClient {
  readonly applied = new Map<string, string>();
  readonly puts: string[] = [];
  readonly patches: string[] = [];
  readonly gets: string[] = [];
  /** Refuses patches with this status (409: lost its config; 400: refused). */
  readonly refusePatch = new Map<string, number>();
  readonly hang = new Set<string>();
  readonly failures = new Map<string, number>();
  /** Refuses connections: errors without an HTTP status. */
  readonly down = new Set<string>();

  async appliedVersion(url: string, signal?: AbortSignal): Promise<string | undefined> {
    this.gets.push(url);
    await this.#maybeHang(url, signal);
    if (this.down.has(url)) throw new Error('connect ECONNREFUSED');
    return this.applied.get(url);
  }

  async put(url: string, body: string, signal?: AbortSignal): Promise<void> {
    this.puts.push(url);
    await this.#maybeHang(url, signal);
    const left = this.failures.get(url) ?? 0;
    if (left > 0) {
      this.failures.set(url, left - 1);
      throw Object.assign(new Error('HTTP 503'), { statusCode: 503 });
    }
    this.applied.set(url, (JSON.parse(body) as { version: string }).version);
  }

  async patch(url: string, body: string, signal?: AbortSignal): Promise<void> {
    this.patches.push(url);
    await this.#maybeHang(url, signal);
    const { base, version } = JSON.parse(body) as { base: string; version: string };
    const refuse = this.refusePatch.get(url);
    if (refuse) throw Object.assign(new Error(`HTTP ${refuse}`), { statusCode: refuse });
    if (this.applied.get(url) !== base) throw Object.assign(new Error('HTTP 409'), { statusCode: 409 });
    this.applied.set(url, version);
  }

  #maybeHang(url: string, signal?: AbortSignal): Promise<void> {
    if (!this.hang.has(url)) return Promise.resolve();
    return new Promise((_resolve, reject) => {
      signal?.addEventListener('abort', () => reject(new Error('aborted')), { once: true });
    });
  }
}

const replica = (n: number, ready = true): Replica => ({
  id: `http://198.18.0.${n}:9000`,
  url: `http://198.18.0.${n}:9000`,
  ready,
});

/** Configs that are only a version; bodies say which version (and base) they carry. */
const cfg = (version: string) => ({ version }) as DataplaneConfig;
const codec: PushCodec = {
  full: (c) => JSON.stringify({ version: c.version }),
  patch: (base, target) => JSON.stringify({ base: base.version, version: target.version }),
};

/** Polls every 2 ms: the pusher's retries here are milliseconds apart, and so are its states. */
const until = (cond: () => boolean, what: string) => poll(cond, what, 10_000, 2);

function pusher(client: PushClient, extra: Partial<PusherOptions> = {}) {
  return new Pusher({
    client,
    codec,
    backoff: { initialMs: 1, maxMs: 5 },
    resyncIntervalMs: 60_000,
    ...extra,
  });
}

test('every replica gets the config; one already at the version is not pushed to', async (t) => {
  const fake = new FakeReplicas();
  fake.applied.set(replica(2).url, 'v1');
  const p = pusher(fake);
  t.after(() => p.stop());
  p.setReplicas([replica(1), replica(2), replica(3)]);
  p.setActive(true);
  p.setConfig(cfg('v1'));
  await until(() => p.states().every((s) => s.acked === 'v1'), 'all acked');
  assert.deepEqual(fake.puts.sort(), [replica(1).url, replica(3).url]);
  // The acks are remembered: the same version again sends nothing.
  p.setConfig(cfg('v1'));
  assert.equal(fake.puts.length, 2);
});

test('a hung replica does not hold up the others', async (t) => {
  const fake = new FakeReplicas();
  fake.hang.add(replica(1).url);
  const p = pusher(fake);
  t.after(() => p.stop());
  p.setReplicas([replica(1), replica(2), replica(3)]);
  p.setActive(true);
  p.setConfig(cfg('v1'));
  await until(
    () => fake.applied.get(replica(2).url) === 'v1' && fake.applied.get(replica(3).url) === 'v1',
    'others',
  );
  p.setConfig(cfg('v2'));
  await until(
    () => fake.applied.get(replica(2).url) === 'v2' && fake.applied.get(replica(3).url) === 'v2',
    'v2',
  );
  assert.equal(fake.applied.get(replica(1).url), undefined);
  // It goes away: forgotten, its request cancelled.
  p.setReplicas([replica(2), replica(3)]);
  assert.deepEqual(
    p.states().map((s) => s.replica.id),
    [replica(2).id, replica(3).id],
  );
});

test('failures are retried until the replica takes the config', async (t) => {
  const fake = new FakeReplicas();
  fake.failures.set(replica(1).url, 3);
  const errors: unknown[] = [];
  const p = pusher(fake, { onError: (_r, e) => errors.push(e) });
  t.after(() => p.stop());
  p.setReplicas([replica(1)]);
  p.setActive(true);
  p.setConfig(cfg('v1'));
  await until(() => p.states()[0].acked === 'v1', 'ack after retries');
  assert.equal(errors.length, 3);
  assert.equal(p.states()[0].lastError, undefined);
});

test('a new replica gets the current config at once; an inactive pusher sends nothing', async (t) => {
  const fake = new FakeReplicas();
  const changes: number[] = [];
  const p = pusher(fake, { onChange: () => changes.push(1) });
  t.after(() => p.stop());
  p.setReplicas([replica(1)]);
  p.setConfig(cfg('v1'));
  await new Promise((r) => setTimeout(r, 20));
  assert.equal(fake.puts.length + fake.gets.length, 0, 'not active: no traffic');
  p.setActive(true);
  await until(() => fake.applied.get(replica(1).url) === 'v1', 'first');
  p.setReplicas([replica(1), replica(4, false)]);
  await until(() => fake.applied.get(replica(4).url) === 'v1', 'new replica');
  assert.ok(changes.length >= 3);
  // Stepping down stops pushing even to replicas that fall behind.
  p.setActive(false);
  p.setConfig(cfg('v2'));
  await new Promise((r) => setTimeout(r, 20));
  assert.equal(fake.applied.get(replica(1).url), 'v1');
});

test('a replica that turns unready is asked again, and re-pushed if it lost its config', async (t) => {
  const fake = new FakeReplicas();
  const p = pusher(fake);
  t.after(() => p.stop());
  p.setReplicas([replica(1)]);
  p.setActive(true);
  p.setConfig(cfg('v1'));
  await until(() => p.states()[0].acked === 'v1', 'first');
  fake.applied.delete(replica(1).url); // the pod restarted
  p.setReplicas([replica(1, false)]);
  await until(() => fake.applied.get(replica(1).url) === 'v1', 'repushed');
  assert.equal(fake.puts.length, 2);
});

test('static replicas count as ready only while they answer', async (t) => {
  const fake = new FakeReplicas();
  const url = 'http://127.0.0.1:9000';
  fake.down.add(url);
  const p = pusher(fake);
  t.after(() => p.stop());
  p.setReplicas([{ id: url, url, ready: true, static: true }]);
  p.setActive(true);
  p.setConfig(cfg('v1'));
  await until(() => p.states()[0].replica.ready === false, 'marked unready');
  // Discovery refreshes keep the readiness the pusher observed.
  p.setReplicas([{ id: url, url, ready: true, static: true }]);
  assert.equal(p.states()[0].replica.ready, false);
  fake.down.delete(url);
  await until(() => p.states()[0].acked === 'v1', 'static ack');
  assert.equal(p.states()[0].replica.ready, true);
});

test('a replica at a recent version gets a patch from it; others get the whole config', async (t) => {
  const fake = new FakeReplicas();
  const kinds: string[] = [];
  const p = pusher(fake, { onPush: (r, _s, ok, kind) => kinds.push(`${r.id.slice(-7, -5)} ${kind} ${ok}`) });
  t.after(() => p.stop());
  p.setReplicas([replica(1), replica(2)]);
  p.setActive(true);
  p.setConfig(cfg('v1'));
  await until(() => p.states().every((s) => s.acked === 'v1'), 'v1');
  assert.equal(fake.puts.length, 2);
  p.setConfig(cfg('v2'));
  await until(() => p.states().every((s) => s.acked === 'v2'), 'v2 by patch');
  assert.equal(fake.puts.length, 2, 'no whole config for a one-version step');
  assert.equal(fake.patches.length, 2);
  // Replica 2 lost its config behind the pusher's back: the patch is refused (409), a PUT follows.
  fake.applied.set(replica(2).url, 'v0');
  p.setConfig(cfg('v3'));
  await until(() => p.states().every((s) => s.acked === 'v3'), 'v3');
  assert.equal(fake.applied.get(replica(2).url), 'v3');
  assert.equal(fake.puts.length, 3);
  assert.ok(kinds.includes('.2 patch false') && kinds.includes('.2 put true'), kinds.join(', '));
});

test('a replica a few versions behind is patched from its own version', async (t) => {
  const fake = new FakeReplicas();
  fake.hang.add(replica(2).url);
  const p = pusher(fake);
  t.after(() => p.stop());
  p.setReplicas([replica(1)]);
  p.setActive(true);
  p.setConfig(cfg('v1'));
  await until(() => p.states()[0].acked === 'v1', 'v1');
  // Replica 2 runs v1 already; several versions pass before it is seen.
  fake.hang.delete(replica(2).url);
  fake.applied.set(replica(2).url, 'v1');
  p.setConfig(cfg('v2'));
  p.setConfig(cfg('v3'));
  await until(() => p.states()[0].acked === 'v3', 'replica 1 at v3');
  p.setReplicas([replica(1), replica(2)]);
  await until(() => fake.applied.get(replica(2).url) === 'v3', 'replica 2 at v3');
  assert.equal(fake.puts.length, 1, 'only the very first config went whole');
});

test('a refused patch (400) is reported and the whole config follows', async (t) => {
  const fake = new FakeReplicas();
  const errors: string[] = [];
  const p = pusher(fake, { onError: (_r, e) => errors.push((e as Error).message) });
  t.after(() => p.stop());
  p.setReplicas([replica(1)]);
  p.setActive(true);
  p.setConfig(cfg('v1'));
  await until(() => p.states()[0].acked === 'v1', 'v1');
  fake.refusePatch.set(replica(1).url, 400);
  p.setConfig(cfg('v2'));
  await until(() => p.states()[0].acked === 'v2', 'v2');
  assert.deepEqual(errors, ['HTTP 400']);
  assert.equal(fake.puts.length, 2);
});
