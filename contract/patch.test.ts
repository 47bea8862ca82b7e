import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { configVersion, serializeConfig } from './canonical.ts';
import { ConfigText } from './config-text.ts';
import { applyPatch, type ConfigPatch, diffConfigs } from './patch.ts';
import { configArb, editArb, edited } from './testing/arbitrary.ts';
import { backend, backendKey, makeConfig, route, vhost, weighted } from './testing/fixtures.ts';
import type { DataplaneConfig } from './types.ts';
import { ConfigValidator } from './validate.ts';

/** Whether the patch changes nothing but the version (e.g. the same objects compiled again). */
function isEmptyPatch(patch: ConfigPatch): boolean {
  return (
    patch.virtualHosts.set.length === 0 &&
    patch.virtualHosts.remove.length === 0 &&
    patch.backends.remove.length === 0 &&
    patch.certificates.remove.length === 0 &&
    Object.keys(patch.backends.set).length === 0 &&
    Object.keys(patch.certificates.set).length === 0 &&
    patch.defaultRoute === undefined &&
    patch.defaultCertificate === undefined
  );
}

/** A patch as the data plane receives it: through JSON, with none of the sender's objects. */
const overTheWire = (patch: ConfigPatch): ConfigPatch => JSON.parse(JSON.stringify(patch));

/** Applies diff(from, to) to `base` (from's content) every way the data plane can, checks each. */
function checkPatch(from: DataplaneConfig, to: DataplaneConfig): void {
  const target = serializeConfig(to);
  const patch = overTheWire(diffConfigs(from, to));
  assert.equal(patch.base, from.version);
  assert.equal(patch.version, to.version);

  const applied = applyPatch(from, patch);
  assert.equal(serializeConfig(applied).text, target.text, 'byte-identical canonical text');
  assert.equal(configVersion(applied), to.version);

  // The replica's view of `from` came through JSON as well.
  const replica = JSON.parse(serializeConfig(from).text) as DataplaneConfig;
  const text = ConfigText.of(replica).patch(patch, applyPatch(replica, patch));
  assert.equal(text.version, to.version);
  assert.equal(Buffer.concat(text.chunks()).toString(), target.text);

  const validator = new ConfigValidator();
  assert.ok(validator.config(replica).ok);
  const result = validator.patch(replica, patch);
  assert.ok(result.ok, JSON.stringify(result));
  assert.equal(serializeConfig(result.config).text, target.text);
  assert.equal(Buffer.concat(validator.textOf(result.config)!.chunks()).toString(), target.text);
}

const two = () =>
  makeConfig({
    virtualHosts: [
      vhost('a.example', [route('/', weighted([['v1', 1]]))]),
      vhost('b.example', [route('/', weighted([['v2', 1]]))]),
    ],
    backends: { [backendKey('v1')]: backend('v1', [1]), [backendKey('v2')]: backend('v2', [2]) },
  });

test('diff then apply gives the target, and unchanged pieces stay the same objects', () => {
  const from = two();
  const to = {
    ...from,
    virtualHosts: [from.virtualHosts[0], vhost('c.example', [route('/', weighted([['v1', 1]]))])],
  };
  to.version = configVersion(to);
  const patch = diffConfigs(from, to);
  assert.deepEqual(patch.virtualHosts.remove, ['b.example']);
  assert.deepEqual(
    patch.virtualHosts.set.map((v) => v.host),
    ['c.example'],
  );
  assert.deepEqual(patch.backends, { set: {}, remove: [] });
  assert.equal(isEmptyPatch(patch), false);

  const applied = applyPatch(from, patch);
  assert.equal(applied.virtualHosts[0], from.virtualHosts[0], 'kept host is the same object');
  assert.equal(applied.backends, from.backends, 'an unchanged record is shared');
  assert.equal(serializeConfig(applied).text, serializeConfig(to).text);
  checkPatch(from, to);
});

test('a backend change patches only that backend; removed and re-added keys are set', () => {
  const from = two();
  const to = { ...from, backends: { ...from.backends, [backendKey('v2')]: backend('v2', [2, 3]) } };
  to.version = configVersion(to);
  const patch = diffConfigs(from, to);
  assert.deepEqual(Object.keys(patch.backends.set), [backendKey('v2')]);
  assert.deepEqual(patch.virtualHosts, { set: [], remove: [] });
  const applied = applyPatch(from, patch);
  assert.equal(applied.backends[backendKey('v1')], from.backends[backendKey('v1')]);
  assert.equal(applied.virtualHosts, from.virtualHosts, 'unchanged host list is shared');
  checkPatch(from, to);

  // Removed and set in one patch: set wins.
  const both = { ...patch, backends: { set: patch.backends.set, remove: [backendKey('v2')] } };
  assert.equal(serializeConfig(applyPatch(from, both)).text, serializeConfig(to).text);
});

test('the same objects compiled again make an empty patch', () => {
  const from = two();
  const again = { ...from };
  const patch = diffConfigs(from, again);
  assert.equal(isEmptyPatch(patch), true);
  assert.equal(patch.base, patch.version);
});

test('defaults appear in a patch only when they change, null when they go away', () => {
  const from = makeConfig({
    virtualHosts: [vhost('a.example', [route('/', weighted([['v1', 1]]))])],
    backends: { [backendKey('v1')]: backend('v1', [1]) },
    defaultRoute: {
      source: { ingress: 'ns/d' },
      policy: route('/', weighted([['v1', 1]])).policy,
      split: weighted([['v1', 1]]),
    },
  });
  const to = { ...from };
  delete to.defaultRoute;
  to.version = configVersion(to);
  const patch = diffConfigs(from, to);
  assert.equal(patch.defaultRoute, null);
  assert.equal('defaultCertificate' in patch, false);
  checkPatch(from, to);
  checkPatch(to, from);
});

test('property: for random configs, diff then apply is the target (text, hash, validator)', () => {
  fc.assert(
    fc.property(configArb, configArb, (from, to) => {
      checkPatch(from, to);
    }),
    { numRuns: 150 },
  );
});

test('property: chains of edits keep pieces shared and patch to the target', () => {
  fc.assert(
    fc.property(configArb, fc.array(editArb, { minLength: 1, maxLength: 8 }), (start, edits) => {
      let from = start;
      for (const edit of edits) {
        const to = edited(from, edit);
        const applied = applyPatch(from, overTheWire(diffConfigs(from, to)));
        // Every host the edit did not touch is the very object `from` had.
        const before = new Set(from.virtualHosts);
        const untouched = to.virtualHosts.filter((v) => before.has(v));
        for (const v of untouched) assert.ok(applied.virtualHosts.includes(v));
        checkPatch(from, to);
        from = to;
      }
    }),
    { numRuns: 60 },
  );
});
