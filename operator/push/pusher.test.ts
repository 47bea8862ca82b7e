import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type PushClient, Pusher } from './pusher.ts';
import type { Replica } from './replicas.ts';

/** In-memory data-plane replicas: what each runs, and how each misbehaves. */
class FakeReplicas implements PushClient {
  readonly applied = new Map<string, string>();
  readonly puts: string[] = [];
  readonly gets: string[] = [];
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

const cfg = (version: string) => JSON.stringify({ version });

async function until(cond: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 2));
  }
}

function pusher(client: PushClient) {
  const p = new Pusher({ client, backoff: { initialMs: 1, maxMs: 5 }, resyncIntervalMs: 60_000 });
  return p;
}

test('every replica gets the config; one already at the version is not pushed to', async (t) => {
  const fake = new FakeReplicas();
  fake.applied.set(replica(2).url, 'v1');
  const p = pusher(fake);
  t.after(() => p.stop());
  p.setReplicas([replica(1), replica(2), replica(3)]);
  p.setActive(true);
  p.setConfig('v1', cfg('v1'));
  await until(() => p.states().every((s) => s.acked === 'v1'), 'all acked');
  assert.deepEqual(fake.puts.sort(), [replica(1).url, replica(3).url]);
  // The acks are remembered: the same version again sends nothing.
  p.setConfig('v1', cfg('v1'));
  assert.equal(fake.puts.length, 2);
});

test('a hung replica does not hold up the others', async (t) => {
  const fake = new FakeReplicas();
  fake.hang.add(replica(1).url);
  const p = pusher(fake);
  t.after(() => p.stop());
  p.setReplicas([replica(1), replica(2), replica(3)]);
  p.setActive(true);
  p.setConfig('v1', cfg('v1'));
  await until(
    () => fake.applied.get(replica(2).url) === 'v1' && fake.applied.get(replica(3).url) === 'v1',
    'others',
  );
  p.setConfig('v2', cfg('v2'));
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
  const p = new Pusher({
    client: fake,
    backoff: { initialMs: 1, maxMs: 5 },
    onError: (_r, e) => errors.push(e),
  });
  t.after(() => p.stop());
  p.setReplicas([replica(1)]);
  p.setActive(true);
  p.setConfig('v1', cfg('v1'));
  await until(() => p.states()[0].acked === 'v1', 'ack after retries');
  assert.equal(errors.length, 3);
  assert.equal(p.states()[0].lastError, undefined);
});

test('a new replica gets the current config at once; an inactive pusher sends nothing', async (t) => {
  const fake = new FakeReplicas();
  const changes: number[] = [];
  const p = new Pusher({
    client: fake,
    backoff: { initialMs: 1, maxMs: 5 },
    onChange: () => changes.push(1),
  });
  t.after(() => p.stop());
  p.setReplicas([replica(1)]);
  p.setConfig('v1', cfg('v1'));
  await new Promise((r) => setTimeout(r, 20));
  assert.equal(fake.puts.length + fake.gets.length, 0, 'not active: no traffic');
  p.setActive(true);
  await until(() => fake.applied.get(replica(1).url) === 'v1', 'first');
  p.setReplicas([replica(1), replica(4, false)]);
  await until(() => fake.applied.get(replica(4).url) === 'v1', 'new replica');
  assert.ok(changes.length >= 3);
  // Stepping down stops pushing even to replicas that fall behind.
  p.setActive(false);
  p.setConfig('v2', cfg('v2'));
  await new Promise((r) => setTimeout(r, 20));
  assert.equal(fake.applied.get(replica(1).url), 'v1');
});

test('a replica that turns unready is asked again, and re-pushed if it lost its config', async (t) => {
  const fake = new FakeReplicas();
  const p = pusher(fake);
  t.after(() => p.stop());
  p.setReplicas([replica(1)]);
  p.setActive(true);
  p.setConfig('v1', cfg('v1'));
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
  const p = new Pusher({ client: fake, backoff: { initialMs: 1, maxMs: 5 } });
  t.after(() => p.stop());
  p.setReplicas([{ id: url, url, ready: true, static: true }]);
  p.setActive(true);
  p.setConfig('v1', cfg('v1'));
  await until(() => p.states()[0].replica.ready === false, 'marked unready');
  // Discovery refreshes keep the readiness the pusher observed.
  p.setReplicas([{ id: url, url, ready: true, static: true }]);
  assert.equal(p.states()[0].replica.ready, false);
  fake.down.delete(url);
  await until(() => p.states()[0].acked === 'v1', 'static ack');
  assert.equal(p.states()[0].replica.ready, true);
});
