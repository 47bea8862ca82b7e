// What the dispatcher tells the user about ingress-nginx annotations no group serves.
import assert from 'node:assert/strict';
import test from 'node:test';
import { parseAnnotations } from '../annotations.ts';
import { NGINX_PREFIX } from './group.ts';

const field = (name: string) => `metadata.annotations[${JSON.stringify(NGINX_PREFIX + name)}]`;

test('a snippet is refused by default: a problem naming it, why and what to do', () => {
  const r = parseAnnotations({ [`${NGINX_PREFIX}configuration-snippet`]: 'deny all;' });
  assert.equal(r.problems.length, 1);
  assert.equal(r.problems[0].field, field('configuration-snippet'));
  assert.match(r.problems[0].message, /^refused: nginx configuration text; Sluice never interprets/);
  assert.match(r.problems[0].message, /; remove it \(or set the snippet policy to warn/);
  assert.deepEqual(r.notices, []);
});

test('snippet policy warn: served without it, with a notice; unsafe names stay refused', () => {
  const r = parseAnnotations(
    {
      [`${NGINX_PREFIX}server-snippet`]: 'return 200;',
      [`${NGINX_PREFIX}auth-tls-secret`]: 'ns/ca',
    },
    'warn',
  );
  assert.deepEqual(
    r.notices.map((n) => n.field),
    [field('server-snippet')],
  );
  assert.match(r.notices[0].message, /snippet policy warn/);
  assert.deepEqual(
    r.problems.map((p) => p.field),
    [field('auth-tls-secret')],
    'client certificate auth dropped would open the Ingress',
  );
  assert.match(r.problems[0].message, /client certificate authentication is not served/);
});

test('a refused name with a value that asks for nothing is only a notice', () => {
  const r = parseAnnotations({
    [`${NGINX_PREFIX}enable-modsecurity`]: 'false',
    [`${NGINX_PREFIX}satisfy`]: 'all',
  });
  assert.deepEqual(r.problems, []);
  assert.equal(r.notices.length, 2);
  for (const n of r.notices) assert.match(n.message, /asks for nothing/);
  const on = parseAnnotations({ [`${NGINX_PREFIX}enable-modsecurity`]: 'true' });
  assert.equal(on.problems.length, 1, 'on is refused: no WAF would run');
});

test('ignored and not-served names are notices; the Ingress is still served', () => {
  const r = parseAnnotations({
    [`${NGINX_PREFIX}proxy-buffer-size`]: '8k',
    [`${NGINX_PREFIX}mirror-target`]: 'https://mirror/$request_uri',
  });
  assert.deepEqual(r.problems, []);
  assert.deepEqual(
    r.notices.map((n) => n.message.split(':')[0]),
    ['not served', 'ignored'],
  );
});

test('an unknown name is a notice naming the closest known one, if any', () => {
  const r = parseAnnotations({
    [`${NGINX_PREFIX}configuration-snipet`]: 'x',
    [`${NGINX_PREFIX}totally-made-up-thing-here`]: 'x',
  });
  assert.deepEqual(r.problems, []);
  assert.match(
    r.notices[0].message,
    /unknown ingress-nginx annotation; did you mean nginx\.ingress\.kubernetes\.io\/configuration-snippet\?/,
  );
  assert.equal(r.notices[1].message, 'unknown ingress-nginx annotation');
});

test('hostile names and values: bounded fields, no control characters, no interpretation', () => {
  const long = `${'a'.repeat(5000)}\r\nb`;
  const r = parseAnnotations({
    [NGINX_PREFIX + long]: 'x',
    [`${NGINX_PREFIX}stream-snippet`]: `server {\r\n listen 1; }${'x'.repeat(1_000_000)}`,
  });
  for (const p of [...r.problems, ...r.notices]) {
    assert.ok(p.field.length < 200, 'field quoted and cut');
    assert.doesNotMatch(p.field + p.message, /[\r\n]/);
    assert.ok(p.message.length < 400);
  }
  assert.equal(r.problems.length, 1);
  assert.equal(r.notices.length, 1);
});
