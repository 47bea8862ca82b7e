import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { CompiledRouteRatioStatus, RouteRatio, Snapshot } from '../compile/api.ts';
import * as objects from '../testing/objects.ts';
import {
  changedObjects,
  compiledAgainEvents,
  compileFailedCondition,
  compileFailedEvents,
  MAX_CHANGED_OBJECTS,
  statusesWhileFailing,
} from './compile-failure.ts';

const ingress = (namespace: string, name: string) => objects.ingress(name, { namespace, uid: `uid-${name}` });
const cls = objects.ingressClass('sluice');

function rr(name: string, generation: number, status?: RouteRatio['status']): RouteRatio {
  const obj = objects.routeRatio(name, {
    namespace: 'shop',
    generation,
    service: { name: 's' },
    backends: [],
  });
  return status ? { ...obj, status } : obj;
}

function snapshot(parts: Partial<Snapshot>): Snapshot {
  return {
    ingressClasses: [],
    ingresses: [],
    services: [],
    endpointSlices: [],
    secrets: [],
    routeRatios: [],
    ...parts,
  };
}

test('changed objects: those the last good snapshot did not hold, by identity, sorted', () => {
  const kept = ingress('a', 'kept');
  const edited = ingress('b', 'edited');
  const split = rr('split', 2);
  const before = snapshot({ ingressClasses: [cls], ingresses: [kept, edited], routeRatios: [split] });
  const now = snapshot({
    ingressClasses: [cls],
    // An edit replaces the cached object; a new one appears; `split` is unchanged.
    ingresses: [ingress('c', 'new'), kept, ingress('b', 'edited')],
    routeRatios: [split, rr('other', 1)],
  });
  assert.deepEqual(
    changedObjects(before, now).map((r) => `${r.kind} ${r.namespace}/${r.name}`),
    ['Ingress b/edited', 'Ingress c/new', 'RouteRatio shop/other'],
  );
  assert.equal(changedObjects(before, now)[0].uid, 'uid-edited');
  // No good compile yet: everything is a change.
  assert.equal(changedObjects(undefined, now).length, 6);
});

test('failure Events: one per served class, one per changed object up to the bound, stable', () => {
  const changed = Array.from({ length: MAX_CHANGED_OBJECTS + 5 }, (_, i) => ({
    kind: 'Ingress' as const,
    namespace: 'a',
    name: `i${String(i).padStart(2, '0')}`,
  }));
  const error = new Error('boom\nsecond line');
  const events = compileFailedEvents(error, ['sluice', 'other'], changed, 'sha256:abc');
  assert.equal(events.length, 2 + MAX_CHANGED_OBJECTS);
  assert.ok(events.every((e) => e.type === 'Warning' && e.reason === 'CompileFailed'));
  const [first] = events;
  assert.deepEqual(first.object, { kind: 'IngressClass', name: 'sluice' });
  // The message names the error (one line) and the version still served.
  assert.match(first.message, /the compiler failed: "boom\\nsecond line"/);
  assert.match(first.message, /keeps serving version sha256:abc/);
  // A change that arrives while compiles fail does not make the class's Event new.
  assert.equal(
    compileFailedEvents(error, ['sluice'], changed.slice(0, 3), 'sha256:abc')[0].message,
    first.message,
  );
  assert.equal(events[2].object.name, 'i00');
  assert.match(events[2].message, /this change is not served yet/);
  assert.deepEqual(compileFailedEvents(error, ['sluice', 'other'], changed, 'sha256:abc'), events);
  assert.match(
    compileFailedEvents(error, ['sluice'], [], undefined)[0].message,
    /nothing has been pushed yet/,
  );
});

test('the Event after recovery is Normal Compiled on each served class', () => {
  const [e] = compiledAgainEvents(['sluice'], 3, 'sha256:def');
  assert.equal(e.type, 'Normal');
  assert.equal(e.reason, 'Compiled');
  assert.match(e.message, /after 3 failed attempts \(version sha256:def\)/);
});

test('statuses while failing: only RouteRatios whose current generation was not compiled fail', () => {
  const compiled: CompiledRouteRatioStatus = {
    observedGeneration: 2,
    conditions: [
      { type: 'Accepted', status: 'True', reason: 'Accepted', message: '', observedGeneration: 2 },
    ],
    backends: [],
    summary: 'v1=100%',
  };
  const lastGood = { 'shop/same': compiled, 'shop/edited': compiled };
  const existing = {
    observedGeneration: 1,
    summary: 'old',
    conditions: [
      { type: 'Accepted', status: 'True' as const, reason: 'Accepted', message: '', observedGeneration: 1 },
    ],
  };
  const deleting = rr('deleting', 5);
  deleting.metadata.deletionTimestamp = new Date();
  const { statuses, failing } = statusesWhileFailing(lastGood, [
    rr('same', 2),
    rr('edited', 3),
    rr('new', 1, existing),
    deleting,
  ]);
  assert.deepEqual(
    [...failing],
    [
      ['shop/edited', 3],
      ['shop/new', 1],
    ],
  );
  // Last good statuses are kept as they are; a RouteRatio never compiled keeps what it shows.
  assert.equal(statuses['shop/same'], compiled);
  assert.equal(statuses['shop/edited'], compiled);
  assert.equal(statuses['shop/new'].summary, 'old');
  assert.deepEqual(statuses['shop/new'].conditions, existing.conditions);
  assert.equal(statuses['shop/deleting'], undefined);

  const cond = compileFailedCondition(3, new Error('boom'));
  assert.deepEqual(
    { ...cond, message: undefined },
    {
      type: 'Programmed',
      status: 'False',
      reason: 'CompileFailed',
      observedGeneration: 3,
      message: undefined,
    },
  );
  assert.match(cond.message, /generation 3 is not programmed: the compiler failed \("boom"\)/);
});
