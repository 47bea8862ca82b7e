import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Backoff, sleep } from './backoff.ts';

test('delays double up to the cap and reset starts over', () => {
  const b = new Backoff({ initialMs: 100, maxMs: 1000, jitter: 0 });
  assert.deepEqual(
    Array.from({ length: 6 }, () => b.next()),
    [100, 200, 400, 800, 1000, 1000],
  );
  assert.equal(b.attempts, 6);
  b.reset();
  assert.equal(b.next(), 100);
});

test('jitter only shortens a delay, so the cap holds', () => {
  const low = new Backoff({ initialMs: 100, maxMs: 400, jitter: 0.5, random: () => 0.999 });
  const high = new Backoff({ initialMs: 100, maxMs: 400, jitter: 0.5, random: () => 0 });
  for (let i = 0; i < 5; i++) {
    const l = low.next();
    const h = high.next();
    assert.ok(l <= h, `${l} <= ${h}`);
    assert.ok(h <= 400);
    assert.ok(l >= h / 2);
  }
});

test('bad settings are refused', () => {
  assert.throws(() => new Backoff({ initialMs: 0 }), /initialMs/);
  assert.throws(() => new Backoff({ initialMs: 10, maxMs: 5 }), /initialMs/);
});

/** Whether `p` has settled once pending callbacks have run. */
async function settled(p: Promise<unknown>): Promise<boolean> {
  let done = false;
  void p.then(() => {
    done = true;
  });
  await new Promise((r) => setImmediate(r));
  return done;
}

test('sleep waits its time, and ends early when its signal aborts', async (t) => {
  t.mock.timers.enable({ apis: ['setTimeout'] });
  const plain = sleep(1000);
  t.mock.timers.tick(999);
  assert.equal(await settled(plain), false);
  t.mock.timers.tick(1);
  assert.equal(await settled(plain), true);

  const ac = new AbortController();
  const aborted = sleep(60_000, ac.signal);
  assert.equal(await settled(aborted), false);
  ac.abort();
  // No timer has moved: only the abort can have ended it.
  assert.equal(await settled(aborted), true);

  assert.equal(await settled(sleep(60_000, AbortSignal.abort())), true);
});
