import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { generateCa, issuedBy, issueServing, notAfter, parseCert } from '../../runtime/pki.ts';
import {
  applyStep,
  type CertState,
  desiredBundle,
  nextStep,
  type RotationPolicy,
  reconcileState,
  secretDataFromState,
  stateFromSecret,
} from './rotation.ts';

const DAY = 86_400_000;
const policy: RotationPolicy = {
  caValidityMs: 90 * DAY,
  servingValidityMs: 30 * DAY,
  renewFraction: 1 / 3,
  propagationDelayMs: DAY / 2,
  commonName: 'sluice-webhook.sluice-system.svc',
  names: ['sluice-webhook.sluice-system.svc', '127.0.0.1'],
};
const t0 = new Date('2026-01-01T00:00:00Z');
const at = (days: number) => new Date(t0.getTime() + days * DAY);

async function fresh(): Promise<CertState> {
  return (await reconcileState({ bundle: [] }, t0, policy, true)).state;
}

describe('nextStep', () => {
  test('creates everything when there is no usable CA', async () => {
    assert.equal(nextStep({ bundle: [] }, t0, policy, true).kind, 'create');
    const s = await fresh();
    assert.equal(
      nextStep({ ...s, ca: { cert: s.ca!.cert, key: s.serving!.key } }, t0, policy, true).kind,
      'create',
    );
    assert.equal(nextStep(s, at(91), policy, true).kind, 'create');
  });

  test('a fresh state needs nothing', async () => {
    const s = await fresh();
    assert.deepEqual(nextStep(s, at(1), policy, true), { kind: 'none', reason: 'up to date' });
    assert.equal(s.bundle.length, 1);
  });

  test('renews the serving certificate when due, missing, foreign or missing a name', async () => {
    const s = await fresh();
    assert.equal(nextStep(s, at(21), policy, true).kind, 'renew-serving');
    assert.equal(nextStep({ ...s, serving: undefined }, at(1), policy, true).kind, 'renew-serving');
    const other = await generateCa('other', { notBefore: t0, notAfter: at(90) });
    const foreign = await issueServing(
      other,
      { commonName: 'x', names: policy.names },
      { notBefore: t0, notAfter: at(30) },
    );
    assert.equal(
      nextStep({ ...s, serving: foreign }, at(1), policy, true).reason,
      'the serving certificate is not signed by the CA',
    );
    assert.equal(
      nextStep(s, at(1), { ...policy, names: [...policy.names, 'new.name'] }, true).reason,
      'the wanted names changed',
    );
  });

  test('stages a new CA when the CA is close to expiry, promotes it only once published and propagated', async () => {
    const s = (await reconcileState(await fresh(), at(55), policy, true)).state;
    assert.equal(nextStep(s, at(56), policy, true).kind, 'none');
    assert.equal(nextStep(s, at(61), policy, true).kind, 'stage-ca');
    const staged = await applyStep(s, { kind: 'stage-ca', reason: '' }, at(61), policy);
    assert.equal(staged.bundle.length, 2);
    assert.equal(nextStep(staged, at(61.1), policy, false).kind, 'none');
    assert.equal(nextStep(staged, at(61.1), policy, true).kind, 'none');
    assert.equal(nextStep(staged, at(61.6), policy, false).kind, 'none');
    assert.equal(nextStep(staged, at(61.6), policy, true).kind, 'promote-ca');
    const promoted = await applyStep(staged, { kind: 'promote-ca', reason: '' }, at(61.6), policy);
    assert.equal(promoted.nextCa, undefined);
    assert.equal(promoted.ca?.cert, staged.nextCa?.cert);
    assert.ok(issuedBy(parseCert(promoted.serving!.cert)!, parseCert(staged.nextCa!.cert)!));
    assert.equal(promoted.bundle.length, 2, 'the old CA stays trusted until it expires');
    assert.equal(nextStep(promoted, at(62), policy, true).kind, 'none');
    assert.equal(nextStep({ ...promoted, serving: s.serving }, at(91), policy, true).kind, 'renew-serving');
    const later = (await reconcileState(promoted, at(85), policy, true)).state;
    assert.equal(nextStep(later, at(91), policy, true).kind, 'fix-bundle');
    assert.equal(desiredBundle(later, at(91)).length, 1);
  });

  test('a serving certificate is never valid beyond its CA', async () => {
    const s = await fresh();
    const late = await applyStep(s, { kind: 'renew-serving', reason: '' }, at(80), policy);
    assert.equal(
      notAfter(parseCert(late.serving!.cert)!).getTime(),
      notAfter(parseCert(s.ca!.cert)!).getTime(),
    );
  });
});

test('over several CA lifetimes the served certificate is always trusted by the published bundle', async () => {
  const fingerprint = (pem: string) => parseCert(pem)!.fingerprint256;
  let state = await fresh();
  const publishedAt = new Map<string, number>([[fingerprint(state.ca!.cert), t0.getTime()]]);
  let published = new Set(state.bundle.map(fingerprint));
  let servedIssuer = fingerprint(state.ca!.cert);
  const seen = { stage: 0, promote: 0, renew: 0 };
  for (let day = 1; day <= 200; day += 1) {
    const now = at(day);
    const isPublished = !state.nextCa || published.has(fingerprint(state.nextCa.cert));
    const { state: next, steps } = await reconcileState(state, now, policy, isPublished);
    for (const s of steps) {
      assert.notEqual(s.kind, 'create', `unexpected re-create on day ${day}`);
      if (s.kind === 'stage-ca') seen.stage++;
      if (s.kind === 'promote-ca') seen.promote++;
      if (s.kind === 'renew-serving') seen.renew++;
    }
    state = next;
    // As the webhook does: write the Secret, publish the bundle, then serve.
    for (const pem of state.bundle)
      if (!publishedAt.has(fingerprint(pem))) publishedAt.set(fingerprint(pem), now.getTime());
    published = new Set(state.bundle.map(fingerprint));
    const cert = parseCert(state.serving!.cert)!;
    assert.ok(
      now >= new Date(cert.validFrom) && now < new Date(cert.validTo),
      `serving certificate not valid on day ${day}`,
    );
    const issuer = state.bundle.map((p) => parseCert(p)!).find((ca) => issuedBy(cert, ca));
    assert.ok(issuer, `served certificate not trusted by the bundle on day ${day}`);
    if (issuer.fingerprint256 !== servedIssuer) {
      const since = now.getTime() - publishedAt.get(issuer.fingerprint256)!;
      assert.ok(
        since >= policy.propagationDelayMs,
        `day ${day}: switched to a CA published only ${since} ms ago`,
      );
      servedIssuer = issuer.fingerprint256;
    }
    assert.ok(state.bundle.length <= 2);
  }
  assert.ok(seen.stage >= 2 && seen.promote >= 2 && seen.renew >= 4, JSON.stringify(seen));
});

test('the state survives a round trip through the Secret', async () => {
  const s = await applyStep(await fresh(), { kind: 'stage-ca', reason: '' }, at(61), policy);
  const { data, nextCaSince } = secretDataFromState(s);
  assert.deepEqual(Object.keys(data).sort(), [
    'ca-bundle.crt',
    'ca.crt',
    'ca.key',
    'next-ca.crt',
    'next-ca.key',
    'tls.crt',
    'tls.key',
  ]);
  const back = stateFromSecret({
    data,
    metadata: { annotations: { 'sluice.dev/next-ca-since': nextCaSince! } },
  });
  assert.deepEqual(back, s);
  assert.deepEqual(stateFromSecret(undefined), {
    ca: undefined,
    serving: undefined,
    nextCa: undefined,
    nextCaSince: undefined,
    bundle: [],
  });
});
