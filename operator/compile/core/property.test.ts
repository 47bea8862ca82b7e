// Property tests: for generated snapshots (valid and hostile objects mixed), the output does not
// depend on input order, always passes the config schema, is in canonical key order, carries no
// control characters, and the claim index agrees with compile about every conflict.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { canonicalJson } from '../../../contract/canonical.ts';
import { validateConfig } from '../../../contract/validate.ts';
import type { Snapshot } from '../api.ts';
import { buildClaimIndex } from '../ingress/claims.ts';
import { shuffled, snapshotArb } from '../testing/arbitraries.ts';
import { compileOk as compile } from '../testing/compile-ok.ts';
import { isReleased, terminatingNamespaces } from './released.ts';

function shuffleSnapshot(s: Snapshot, seed: number): Snapshot {
  return {
    ingressClasses: shuffled(s.ingressClasses, seed),
    ingresses: shuffled(s.ingresses, seed + 1),
    services: shuffled(s.services, seed + 2),
    endpointSlices: shuffled(s.endpointSlices, seed + 3),
    secrets: shuffled(s.secrets, seed + 4),
    routeRatios: shuffled(s.routeRatios, seed + 5),
    namespaces: shuffled(s.namespaces ?? [], seed + 6),
  };
}

/** Every string in the value, with the path to it. */
function* strings(value: unknown, where = ''): Generator<[string, string]> {
  if (typeof value === 'string') yield [where, value];
  else if (Array.isArray(value))
    for (let i = 0; i < value.length; i++) yield* strings(value[i], `${where}[${i}]`);
  else if (value !== null && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      yield [`${where}{key}`, k];
      yield* strings(v, `${where}.${k}`);
    }
  }
}

const RUNS = 150;

test('shuffling the input never changes the output', () => {
  fc.assert(
    fc.property(snapshotArb, fc.integer(), (snapshot, seed) => {
      const a = JSON.stringify(compile(snapshot));
      const b = JSON.stringify(compile(shuffleSnapshot(snapshot, seed)));
      assert.equal(b, a);
    }),
    { numRuns: RUNS },
  );
});

test('every output passes the schema, is canonical and never reports a compiler failure', () => {
  fc.assert(
    fc.property(snapshotArb, (snapshot) => {
      const result = compile(snapshot);
      const validation = validateConfig(result.config);
      assert.deepEqual(validation.ok ? [] : validation.errors, []);
      assert.equal(canonicalJson(result.config), JSON.stringify(result.config));
      assert.ok(!result.events.some((e) => e.reason === 'CompileFailed'), JSON.stringify(result.events));
    }),
    { numRuns: RUNS },
  );
});

test('no control character from the input reaches the output', () => {
  const PEM_FIELD = /\.(certPem|keyPem)$/;
  const isControl = (code: number) =>
    code < 0x20 || (code >= 0x7f && code <= 0x9f) || code === 0x2028 || code === 0x2029;
  fc.assert(
    fc.property(snapshotArb, (snapshot) => {
      for (const [where, text] of strings(compile(snapshot))) {
        const allowed = PEM_FIELD.test(where) ? text.replace(/\n/g, '') : text;
        const bad = [...allowed].find((c) => isControl(c.charCodeAt(0)));
        assert.equal(bad, undefined, `control character at ${where}: ${JSON.stringify(text)}`);
      }
    }),
    { numRuns: RUNS },
  );
});

test('the claim index reports exactly the conflicts compile acts on', () => {
  fc.assert(
    fc.property(snapshotArb, (snapshot) => {
      const result = compile(snapshot);
      const index = buildClaimIndex(snapshot);
      for (const ingress of snapshot.ingresses) {
        const key = `${ingress.metadata?.namespace}/${ingress.metadata?.name}`;
        const status = result.statuses.ingresses[key];
        if (!status || status.rejected.some((r) => r.reason === 'InvalidAnnotation')) continue;
        const fromCompile = new Set(
          status.rejected
            .filter((r) => r.reason === 'PathConflict' || r.reason === 'HostOwnedByOtherNamespace')
            .map((r) => r.message),
        );
        const fromIndex = new Set(index.ingressConflicts(ingress).map((c) => c.message));
        assert.deepEqual([...fromIndex].sort(), [...fromCompile].sort(), key);
      }
      for (const rr of snapshot.routeRatios) {
        const status = result.statuses.routeRatios[`${rr.metadata.namespace}/${rr.metadata.name}`];
        const accepted = status?.conditions.find((c) => c.type === 'Accepted');
        const conflicts = index.routeRatioConflicts(rr);
        if (accepted?.reason === 'Conflicted')
          assert.deepEqual(
            conflicts.map((c) => c.message),
            [accepted.message],
          );
        else assert.deepEqual(conflicts, []);
      }
    }),
    { numRuns: RUNS },
  );
});

test('a released object (being deleted, or in a terminating namespace) counts as gone, in compile and claims', () => {
  fc.assert(
    fc.property(snapshotArb, (snapshot) => {
      const terminating = terminatingNamespaces(snapshot.namespaces);
      const gone: Snapshot = {
        ...snapshot,
        ingresses: snapshot.ingresses.filter((i) => !isReleased(i, terminating)),
        routeRatios: snapshot.routeRatios.filter((r) => !isReleased(r, terminating)),
        namespaces: [],
      };
      assert.equal(JSON.stringify(compile(snapshot)), JSON.stringify(compile(gone)));
      const index = buildClaimIndex(snapshot);
      const without = buildClaimIndex(gone);
      for (const ingress of snapshot.ingresses) {
        const conflicts = index.ingressConflicts(ingress);
        if (isReleased(ingress, terminating)) assert.deepEqual(conflicts, []);
        else assert.deepEqual(conflicts, without.ingressConflicts(ingress));
      }
      for (const rr of snapshot.routeRatios) {
        const conflicts = index.routeRatioConflicts(rr);
        if (isReleased(rr, terminating)) assert.deepEqual(conflicts, []);
        else assert.deepEqual(conflicts, without.routeRatioConflicts(rr));
      }
    }),
    { numRuns: RUNS },
  );
});
