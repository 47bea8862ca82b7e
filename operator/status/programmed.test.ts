import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ReplicaState } from '../push/pusher.ts';
import { programmedCondition, VersionLedger } from './programmed.ts';

const state = (n: number, acked: string | undefined, ready = true): ReplicaState => ({
  replica: { id: `r${n}`, url: `http://198.18.0.${n}:9000`, ready },
  acked,
  lastError: undefined,
});

test('Programmed is True only when every ready replica runs a version with this generation', () => {
  const ledger = new VersionLedger();
  ledger.record('v1', new Map([['shop/split', 1]]));
  ledger.record('v2', new Map([['shop/split', 2]]));
  const key = 'shop/split';
  const pending = programmedCondition(
    key,
    2,
    true,
    [state(1, 'v2'), state(2, 'v1'), state(3, undefined, false)],
    ledger,
  );
  assert.equal(pending.status, 'False');
  assert.equal(pending.reason, 'Pending');
  assert.equal(pending.message, '1 of 2 ready replicas run generation 2');
  assert.equal(pending.observedGeneration, 2);
  const done = programmedCondition(
    key,
    2,
    true,
    [state(1, 'v2'), state(2, 'v2'), state(3, undefined, false)],
    ledger,
  );
  assert.equal(done.status, 'True');
  assert.equal(done.message, '2 of 2 ready replicas run generation 2');
});

test('no ready replica, or not accepted: False with a reason', () => {
  const ledger = new VersionLedger();
  ledger.record('v1', new Map([['a/b', 1]]));
  assert.equal(
    programmedCondition('a/b', 1, true, [state(1, 'v1', false)], ledger).reason,
    'NoReadyReplicas',
  );
  const invalid = programmedCondition('a/b', 1, false, [state(1, 'v1')], ledger);
  assert.equal(invalid.status, 'False');
  assert.equal(invalid.reason, 'Invalid');
});

test('the same config recorded again carries the newer generation', () => {
  const ledger = new VersionLedger();
  ledger.record('v1', new Map([['a/b', 1]]));
  ledger.record('v1', new Map([['a/b', 2]]));
  assert.equal(ledger.generationIn('v1', 'a/b'), 2);
});

test('the ledger forgets old versions', () => {
  const ledger = new VersionLedger(2);
  ledger.record('v1', new Map());
  ledger.record('v2', new Map());
  ledger.record('v3', new Map());
  assert.equal(ledger.has('v1'), false);
  assert.equal(ledger.has('v3'), true);
  ledger.prune(['v3', undefined]);
  assert.equal(ledger.has('v2'), false);
  assert.equal(ledger.has('v3'), true);
});
