// The compiler and the data plane normalise hosts separately (the compiler when it reads a rule,
// the data plane once per request, contract/normalize.ts). A rule host that the request side
// would spell differently could never match: these properties tie the two together.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { normalizeHost } from '../../../contract/normalize.ts';
import { hostMatches, parseHost } from './hosts.ts';

const label = fc.stringMatching(/^[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,8}[a-zA-Z0-9])?$/);
const name = fc.array(label, { minLength: 1, maxLength: 4 }).map((l) => l.join('.'));
/** How a client may spell a host: any case, a trailing dot, a port. */
const spelling = (host: string) =>
  fc
    .tuple(
      fc.array(fc.boolean(), { minLength: host.length, maxLength: host.length }),
      fc.boolean(),
      fc.option(fc.integer({ min: 1, max: 65535 }), { nil: undefined }),
    )
    .map(([upper, dot, port]) => {
      const cased = [...host].map((c, i) => (upper[i] ? c.toUpperCase() : c.toLowerCase())).join('');
      return `${cased}${dot ? '.' : ''}${port === undefined ? '' : `:${port}`}`;
    });

test('a compiled exact host is in the form the data plane normalises every request host to', () => {
  fc.assert(
    fc.property(
      name.chain((n) => fc.tuple(fc.constant(n), spelling(n), spelling(n))),
      ([n, rule, request]) => {
        const parsed = parseHost(rule);
        assert.ok(parsed.ok, `${rule}: ${JSON.stringify(parsed)}`);
        assert.equal(parsed.value.kind, 'exact');
        assert.equal(normalizeHost(parsed.value.host), parsed.value.host, 'already normal');
        assert.equal(parsed.value.host, n.toLowerCase());
        const seen = normalizeHost(request);
        assert.equal(seen, parsed.value.host, `request ${request} reaches rule ${rule}`);
        assert.ok(hostMatches(parsed.value, seen!));
      },
    ),
  );
});

test('a compiled wildcard matches every one-label request spelling, and nothing deeper or shallower', () => {
  fc.assert(
    fc.property(
      name.chain((n) => fc.tuple(fc.constant(n), spelling(`*.${n}`), label, label)),
      ([n, rule, first, extra]) => {
        const parsed = parseHost(rule);
        assert.ok(parsed.ok, `${rule}: ${JSON.stringify(parsed)}`);
        assert.equal(parsed.value.kind, 'wildcard');
        assert.equal(parsed.value.host, `*.${n.toLowerCase()}`);
        const one = normalizeHost(`${first}.${n}.`.toUpperCase());
        assert.ok(one !== null && hostMatches(parsed.value, one));
        const two = normalizeHost(`${extra}.${first}.${n}`);
        assert.ok(two !== null && !hostMatches(parsed.value, two));
        const bare = normalizeHost(n);
        assert.ok(bare !== null && !hostMatches(parsed.value, bare));
      },
    ),
  );
});

test('every host the compiler accepts survives the request-side normalisation unchanged', () => {
  const raw = fc.oneof(
    name,
    name.chain(spelling),
    fc.string({ maxLength: 20 }),
    fc.stringMatching(/^[*a-zA-Z0-9._:-]{1,30}$/),
  );
  fc.assert(
    fc.property(raw, (r) => {
      const parsed = parseHost(r);
      if (!parsed.ok || parsed.value.kind !== 'exact') return;
      assert.equal(normalizeHost(parsed.value.host), parsed.value.host, `rule ${JSON.stringify(r)}`);
    }),
    { numRuns: 2000 },
  );
});
