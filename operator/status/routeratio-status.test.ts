import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { CompiledRouteRatioStatus, Condition } from '../compile/api.ts';
import { desiredRouteRatioStatus, metaTime, sameJson } from './routeratio-status.ts';

const compiled = (gen: number, resolved: 'True' | 'False'): CompiledRouteRatioStatus => ({
  observedGeneration: gen,
  conditions: [
    { type: 'Accepted', status: 'True', reason: 'Accepted', message: 'ok', observedGeneration: gen },
    {
      type: 'ResolvedRefs',
      status: resolved,
      reason: resolved === 'True' ? 'ResolvedRefs' : 'BackendNotFound',
      message: 'x',
      observedGeneration: gen,
    },
  ],
  backends: [{ name: 'v1', weight: 90, percent: 90, readyEndpoints: 2 }],
  summary: 'v1=90% v2=10%',
});

const programmed = (gen: number, status: 'True' | 'False'): Condition => ({
  type: 'Programmed',
  status,
  reason: status === 'True' ? 'Programmed' : 'Pending',
  message: '',
  observedGeneration: gen,
});

test('lastTransitionTime is kept while a condition keeps its status', () => {
  const first = desiredRouteRatioStatus(
    compiled(1, 'True'),
    programmed(1, 'False'),
    undefined,
    '2030-01-01T00:00:00Z',
  );
  assert.deepEqual(
    first.conditions?.map((c) => [c.type, c.lastTransitionTime]),
    [
      ['Accepted', '2030-01-01T00:00:00Z'],
      ['ResolvedRefs', '2030-01-01T00:00:00Z'],
      ['Programmed', '2030-01-01T00:00:00Z'],
    ],
  );
  const second = desiredRouteRatioStatus(
    compiled(2, 'False'),
    programmed(2, 'True'),
    first,
    '2030-01-01T00:05:00Z',
  );
  assert.deepEqual(
    second.conditions?.map((c) => [c.type, c.status, c.lastTransitionTime, c.observedGeneration]),
    [
      ['Accepted', 'True', '2030-01-01T00:00:00Z', 2],
      ['ResolvedRefs', 'False', '2030-01-01T00:05:00Z', 2],
      ['Programmed', 'True', '2030-01-01T00:05:00Z', 2],
    ],
  );
  assert.equal(second.observedGeneration, 2);
  assert.equal(second.summary, 'v1=90% v2=10%');
  // Computing it again from itself changes nothing, so nothing is written.
  const again = desiredRouteRatioStatus(
    compiled(2, 'False'),
    programmed(2, 'True'),
    second,
    '2030-01-01T00:09:00Z',
  );
  assert.ok(sameJson(again, second));
});

test('sameJson ignores key order; metaTime has whole seconds', () => {
  assert.ok(sameJson({ a: 1, b: [1, { c: 2, d: 3 }] }, { b: [1, { d: 3, c: 2 }], a: 1 }));
  assert.ok(!sameJson({ a: [1, 2] }, { a: [2, 1] }));
  assert.equal(metaTime(new Date('2030-01-02T03:04:05.678Z')), '2030-01-02T03:04:05Z');
});
