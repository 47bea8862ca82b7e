import assert from 'node:assert/strict';
import { test } from 'node:test';
import { eventKey, microTime } from './events.ts';

test('MicroTime has exactly six fractional digits', () => {
  assert.equal(microTime(new Date('2030-01-02T03:04:05.678Z')), '2030-01-02T03:04:05.678000Z');
});

test('events with the same object, reason and message share a key', () => {
  const ev = {
    type: 'Warning' as const,
    reason: 'PathConflict',
    message: 'shop.example.com/ is already routed by Ingress shop/a',
    object: { kind: 'Ingress' as const, namespace: 'shop', name: 'b' },
  };
  assert.equal(eventKey(ev), eventKey({ ...ev, object: { ...ev.object } }));
  assert.notEqual(eventKey(ev), eventKey({ ...ev, message: 'other' }));
  assert.notEqual(eventKey(ev), eventKey({ ...ev, object: { ...ev.object, name: 'c' } }));
});
