// Admission of Ingresses with ingress-nginx annotations: refused ones deny, the rest warn.
import assert from 'node:assert/strict';
import test from 'node:test';
import { reviewIngress } from './review.ts';
import { context, ingress, ingressClass, review, service, snapshot } from './testing/fixtures.ts';

const base = snapshot({ ingressClasses: [ingressClass('sluice')], services: [service('shop', 'web')] });
const P = 'nginx.ingress.kubernetes.io/';
const fresh = (annotations: Record<string, string>) =>
  review(
    ingress('shop', 'fresh', { annotations, rules: [{ host: 'new.example.com', paths: [{ path: '/' }] }] }),
  );

test('a snippet is denied by default, naming it, why and what to do', () => {
  const res = reviewIngress(fresh({ [`${P}configuration-snippet`]: 'return 200;' }), context(base));
  assert.equal(res.response.allowed, false);
  assert.match(
    res.response.status?.message ?? '',
    /configuration-snippet.*refused: nginx configuration text.*remove it/,
  );
});

test('snippet policy warn: admitted with one warning per annotation; an unknown name names the closest', () => {
  const res = reviewIngress(
    fresh({
      [`${P}configuration-snippet`]: 'return 200;',
      [`${P}proxy-buffering`]: 'on',
      [`${P}rewite-target`]: '/',
    }),
    context(base, { nginxSnippets: 'warn' }),
  );
  assert.equal(res.response.allowed, true);
  const warnings = res.response.warnings ?? [];
  assert.equal(warnings.length, 3);
  assert.match(warnings.join('\n'), /configuration-snippet.*snippet policy warn/);
  assert.match(warnings.join('\n'), /proxy-buffering.*ignored/);
  assert.match(
    warnings.join('\n'),
    /rewite-target.*did you mean nginx\.ingress\.kubernetes\.io\/rewrite-target/,
  );
});

test('client certificate auth is denied under either policy', () => {
  const res = reviewIngress(
    fresh({ [`${P}auth-tls-secret`]: 'shop/ca' }),
    context(base, { nginxSnippets: 'warn' }),
  );
  assert.equal(res.response.allowed, false);
  assert.match(res.response.status?.message ?? '', /auth-tls-secret.*client certificate authentication/);
});
