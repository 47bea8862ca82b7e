import assert from 'node:assert/strict';
import test from 'node:test';
import { servedNginxAnnotations } from './index.ts';
import { closestNginxAnnotation, NGINX_ANNOTATIONS, UNSERVED } from './registry.ts';

test('the registry and the groups cover every ingress-nginx annotation exactly once', () => {
  const served = [...servedNginxAnnotations().keys()];
  const unserved = Object.keys(UNSERVED);
  const known = new Set(NGINX_ANNOTATIONS);
  const overlap = unserved.filter((n) => served.includes(n));
  assert.deepEqual(overlap, [], 'names served by a group must leave the registry');
  assert.deepEqual(
    served.filter((n) => !known.has(n)),
    [],
    'a group serves a name ingress-nginx does not document',
  );
  assert.deepEqual(
    unserved.filter((n) => !known.has(n)),
    [],
    'the registry answers a name missing from NGINX_ANNOTATIONS',
  );
  const covered = new Set([...served, ...unserved]);
  assert.deepEqual(
    NGINX_ANNOTATIONS.filter((n) => !covered.has(n)),
    [],
    'a known name is neither served nor answered',
  );
});

test('the list is sorted, without duplicates, and long enough to be the whole documented set', () => {
  assert.deepEqual([...NGINX_ANNOTATIONS], [...new Set(NGINX_ANNOTATIONS)].sort());
  assert.ok(NGINX_ANNOTATIONS.length >= 120);
  for (const name of NGINX_ANNOTATIONS) assert.match(name, /^[a-z0-9]+(-[a-z0-9]+)*$/);
});

test('every refusal says why and has a kind; snippets are refused, not ignored', () => {
  for (const [name, entry] of Object.entries(UNSERVED)) {
    assert.ok(entry.reason.length > 10 && entry.reason.length < 200, name);
    assert.equal(entry.status === 'refused', entry.kind !== undefined, name);
    if (/snippet|^lua-/.test(name)) assert.equal(entry.kind, 'snippet', name);
    if (/^auth-tls-/.test(name)) assert.equal(entry.kind, 'unsafe', name);
  }
});

test('the closest known name is found for a typo, none for something unrelated or huge', () => {
  assert.equal(closestNginxAnnotation('configuration-snipet'), 'configuration-snippet');
  assert.equal(closestNginxAnnotation('rewite-target'), 'rewrite-target');
  assert.equal(closestNginxAnnotation('zzzzzzzzzzzzzzzzzzzz'), undefined);
  assert.equal(closestNginxAnnotation('a'.repeat(10_000)), undefined);
});
