import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  boundWarnings,
  joinReasons,
  MAX_WARNING_CHARS,
  MAX_WARNINGS,
  pointerToPath,
  quote,
  sanitize,
} from './messages.ts';

test('sanitize escapes controls, bidi and format characters and bounds the length', () => {
  assert.equal(
    sanitize('a\nb\r\u0000c\u202ed\u2066e\u{e0041}'),
    'a\\u000ab\\u000d\\u0000c\\u202ed\\u2066e\\u{e0041}',
  );
  assert.equal(sanitize('plain text, "quoted" ünïcode ✓'), 'plain text, "quoted" ünïcode ✓');
  const long = sanitize('x'.repeat(10_000), 100);
  assert.equal(long.length, 100);
  assert.ok(long.endsWith('... (truncated)'));
});

test('quote wraps a user value in escaped double quotes and cuts it', () => {
  assert.equal(quote('shop"\n'), '"shop\\"\\u000a"');
  assert.equal(quote(42), '"42"');
  assert.ok(quote('y'.repeat(1000)).length < 300);
});

test('joinReasons keeps the message bounded and says how many were left out', () => {
  const many = Array.from({ length: 100 }, (_, i) => `reason ${i} ${'z'.repeat(100)}`);
  const msg = joinReasons(many, 1000);
  assert.ok(msg.length <= 1000);
  assert.match(msg, /^reason 0 .*; and \d+ more$/);
  assert.equal(joinReasons(['a', 'b']), 'a; b');
});

test('boundWarnings dedupes, escapes, shortens and caps the count', () => {
  const w = boundWarnings(['same', 'same', 'line\nbreak', 'w'.repeat(1000)]);
  assert.deepEqual(w.slice(0, 2), ['same', 'line\\u000abreak']);
  assert.equal(w[2].length, MAX_WARNING_CHARS);
  const many = boundWarnings(Array.from({ length: 30 }, (_, i) => `w${i}`));
  assert.equal(many.length, MAX_WARNINGS);
  assert.equal(many.at(-1), `and ${30 - MAX_WARNINGS + 1} more warnings`);
});

test('pointerToPath renders JSON pointers as field paths', () => {
  assert.equal(pointerToPath('/spec/rules/0/host'), 'spec.rules[0].host');
  assert.equal(
    pointerToPath('/metadata/annotations/sluice.dev~1ssl-redirect'),
    'metadata.annotations["sluice.dev/ssl-redirect"]',
  );
  assert.equal(pointerToPath('/a~0b'), '["a~b"]');
  assert.equal(pointerToPath(''), '');
});
