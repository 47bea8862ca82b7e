import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CoalescingQueue } from './queue.ts';

test('many adds within the hold-off make one run', (t) => {
  t.mock.timers.enable({ apis: ['setTimeout', 'Date'] });
  let runs = 0;
  const q = new CoalescingQueue({ holdOffMs: 50, maxDelayMs: 1000, run: () => void runs++ });
  for (let i = 0; i < 10; i++) {
    q.add();
    t.mock.timers.tick(10);
  }
  assert.equal(runs, 0, 'changes are still coming');
  assert.equal(q.depth, 1);
  t.mock.timers.tick(50);
  assert.equal(runs, 1);
  assert.equal(q.depth, 0);
});

test('a steady stream of changes still runs within the maximum delay', (t) => {
  t.mock.timers.enable({ apis: ['setTimeout', 'Date'] });
  let runs = 0;
  const q = new CoalescingQueue({ holdOffMs: 50, maxDelayMs: 200, run: () => void runs++ });
  for (let elapsed = 0; elapsed < 200; elapsed += 20) {
    q.add();
    t.mock.timers.tick(20);
  }
  assert.equal(runs, 1);
});

test('runs never overlap; a change during a run schedules exactly one more', async () => {
  let running = 0;
  let maxRunning = 0;
  let runs = 0;
  let release: () => void = () => undefined;
  const q = new CoalescingQueue({
    holdOffMs: 1,
    maxDelayMs: 5,
    run: async () => {
      runs++;
      running++;
      maxRunning = Math.max(maxRunning, running);
      if (runs === 1) await new Promise<void>((r) => (release = r));
      running--;
    },
  });
  q.add();
  while (!q.busy) await new Promise((r) => setTimeout(r, 1));
  q.add();
  q.add();
  q.add();
  release();
  while (runs < 2 || q.busy || q.depth > 0) await new Promise((r) => setTimeout(r, 1));
  await new Promise((r) => setTimeout(r, 20));
  assert.equal(runs, 2);
  assert.equal(maxRunning, 1);
  await q.stop();
});

test('a failing run is reported and the queue keeps working', async () => {
  const errors: unknown[] = [];
  let runs = 0;
  const q = new CoalescingQueue({
    holdOffMs: 1,
    run: () => {
      runs++;
      if (runs === 1) throw new Error('boom');
    },
    onError: (e) => errors.push(e),
  });
  q.add();
  while (runs < 1 || q.busy) await new Promise((r) => setTimeout(r, 1));
  q.add();
  while (runs < 2 || q.busy) await new Promise((r) => setTimeout(r, 1));
  assert.equal(errors.length, 1);
  assert.equal(runs, 2);
  await q.stop();
});

test('after stop nothing runs', (t) => {
  t.mock.timers.enable({ apis: ['setTimeout', 'Date'] });
  let runs = 0;
  const q = new CoalescingQueue({ holdOffMs: 10, run: () => void runs++ });
  q.add();
  void q.stop();
  q.add();
  t.mock.timers.tick(1000);
  assert.equal(runs, 0);
});
