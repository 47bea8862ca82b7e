import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { HostMatcher, PathMatcher, type PathRule } from './matcher.ts';

const rule = (path: string, pathType: 'Exact' | 'Prefix'): PathRule<string> => ({
  path,
  pathType,
  value: `${pathType} ${path}`,
});

test('the Kubernetes path table', () => {
  const cases: Array<[PathRule<string>, string, boolean]> = [
    [rule('/', 'Prefix'), '/anything', true],
    [rule('/foo', 'Exact'), '/foo', true],
    [rule('/foo', 'Exact'), '/bar', false],
    [rule('/foo', 'Exact'), '/foo/', false],
    [rule('/foo/', 'Exact'), '/foo', false],
    [rule('/foo', 'Prefix'), '/foo', true],
    [rule('/foo', 'Prefix'), '/foo/', true],
    [rule('/aaa/bb', 'Prefix'), '/aaa/bbb', false],
    [rule('/aaa/bbb', 'Prefix'), '/aaa/bbb', true],
    [rule('/aaa/bbb', 'Prefix'), '/aaa/bbb/', true],
    [rule('/aaa/bbb', 'Prefix'), '/aaa/bbb/ccc', true],
    [rule('/aaa/bbb', 'Prefix'), '/aaa/bbbxyz', false],
    [rule('/foo', 'Exact'), '/FOO', false],
  ];
  for (const [r, path, matches] of cases) {
    const m = new PathMatcher([r]);
    assert.equal(m.match(path) !== undefined, matches, `${r.pathType} ${r.path} vs ${path}`);
  }
});

test('longest match wins and Exact beats Prefix at equal length', () => {
  const m = new PathMatcher([
    rule('/', 'Prefix'),
    rule('/aaa', 'Prefix'),
    rule('/aaa/bbb', 'Prefix'),
    rule('/aaa', 'Exact'),
  ]);
  assert.equal(m.match('/aaa'), 'Exact /aaa');
  assert.equal(m.match('/aaa/'), 'Prefix /aaa');
  assert.equal(m.match('/aaa/bbb/c'), 'Prefix /aaa/bbb');
  assert.equal(m.match('/aaa/bbbb'), 'Prefix /aaa');
  assert.equal(m.match('/zzz'), 'Prefix /');
});

test('hosts: exact, one-label wildcard, catch-all', () => {
  const hosts = new HostMatcher([
    { kind: 'exact', host: 'foo.com', value: 'exact foo' },
    { kind: 'wildcard', host: '*.foo.com', value: 'wild foo' },
    { kind: 'any', host: '*', value: 'any' },
  ]);
  assert.equal(hosts.exact('foo.com'), 'exact foo');
  assert.equal(hosts.wildcard('bar.foo.com'), 'wild foo');
  assert.equal(hosts.wildcard('foo.com'), undefined);
  assert.equal(hosts.wildcard('a.b.foo.com'), undefined);
  assert.equal(hosts.any, 'any');
});

// A deliberately naive reference: scan every rule, apply the table's definition literally.
function reference(rules: PathRule<string>[], path: string): string | undefined {
  let best: { len: number; exact: boolean; value: string } | undefined;
  for (const r of rules) {
    let len = -1;
    if (r.pathType === 'Exact') {
      if (path === r.path) len = r.path.length;
    } else {
      const p = r.path === '/' ? '' : r.path.replace(/\/$/, '');
      if (p === '' || path === p || path.startsWith(`${p}/`)) len = p.length;
    }
    if (len < 0) continue;
    const exact = r.pathType === 'Exact';
    if (best === undefined || len > best.len || (len === best.len && exact && !best.exact)) {
      best = { len, exact, value: r.value };
    }
  }
  return best?.value;
}

const seg = fc.constantFrom('a', 'b', 'ab', 'c');
const pathArb = fc
  .array(seg, { maxLength: 4 })
  .chain((segs) => fc.boolean().map((slash) => `/${segs.join('/')}${slash && segs.length > 0 ? '/' : ''}`));

test('the trie agrees with a linear scan of the path rules', () => {
  fc.assert(
    fc.property(
      fc.uniqueArray(
        fc.record({ path: pathArb, pathType: fc.constantFrom('Exact' as const, 'Prefix' as const) }),
        { selector: (r) => `${r.pathType} ${r.path.replace(/(.)\/$/, '$1')}`, maxLength: 10 },
      ),
      pathArb,
      (specs, path) => {
        const rules = specs.map((s) =>
          rule(s.pathType === 'Prefix' ? s.path.replace(/(.)\/$/, '$1') : s.path, s.pathType),
        );
        assert.equal(new PathMatcher(rules).match(path), reference(rules, path));
      },
    ),
    { numRuns: 500 },
  );
});

test('finds the right route among 10,000', () => {
  const rules: PathRule<string>[] = [];
  for (let i = 0; i < 10_000; i++) rules.push(rule(`/svc${i}/api`, 'Prefix'));
  const m = new PathMatcher(rules);
  assert.equal(m.match('/svc9999/api/x'), 'Prefix /svc9999/api');
  assert.equal(m.match('/svc10000/api'), undefined);
});

test('hosts: a derived matcher sees its changes, the original keeps its own', () => {
  const rules = Array.from({ length: 300 }, (_, i) => ({
    kind: 'exact' as const,
    host: `h${i}.com`,
    value: `v${i}`,
  }));
  const base = new HostMatcher<string>([...rules, { kind: 'wildcard', host: '*.w.com', value: 'w' }]);
  const next = base.with([
    { kind: 'exact', host: 'h1.com', value: 'changed' },
    { kind: 'exact', host: 'h2.com', value: undefined },
    { kind: 'exact', host: 'new.com', value: 'new' },
    { kind: 'wildcard', host: '*.w.com', value: undefined },
    { kind: 'any', host: '*', value: 'any' },
  ]);
  assert.equal(next.exact('h1.com'), 'changed');
  assert.equal(next.exact('h2.com'), undefined);
  assert.equal(next.exact('new.com'), 'new');
  assert.equal(next.exact('h3.com'), 'v3');
  assert.equal(next.wildcard('a.w.com'), undefined);
  assert.equal(next.any, 'any');
  assert.equal(base.exact('h1.com'), 'v1');
  assert.equal(base.exact('h2.com'), 'v2');
  assert.equal(base.exact('new.com'), undefined);
  assert.equal(base.wildcard('a.w.com'), 'w');
  assert.equal(base.any, undefined);

  // Many changes are merged into new maps; the result is the same.
  const many = next.with(rules.map((r) => ({ ...r, value: `${r.value}!` })));
  assert.equal(many.exact('h2.com'), 'v2!');
  assert.equal(many.exact('new.com'), 'new');
  assert.equal(many.exact('h299.com'), 'v299!');
  assert.equal(next.exact('h299.com'), 'v299');
  assert.equal(many.wildcard('a.w.com'), undefined);
});
