import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FlagError, type FlagSpecs, Flags, parseDuration, usage } from './flags.ts';

const specs: FlagSpecs = {
  port: { help: 'a port', default: '8080' },
  name: { help: 'a name' },
  verbose: { help: 'talk more', default: 'false', boolean: true },
  timeout: { help: 'a duration', default: '5s' },
  peers: { help: 'a list', default: '' },
};

test('a flag beats the environment, which beats the default; empty counts as unset', () => {
  const f = new Flags(
    ['--port=81', '--name='],
    { SLUICE_PORT: '82', SLUICE_NAME: 'env', SLUICE_TIMEOUT: '' },
    specs,
  );
  assert.equal(f.get('port'), '81');
  assert.equal(f.get('name'), 'env');
  assert.equal(f.get('timeout'), '5s');
  assert.equal(f.get('peers'), undefined);
  assert.deepEqual(f.list('peers'), []);
  assert.deepEqual(f.problems, []);
});

test('`--flag value`, and a boolean flag alone means true', () => {
  const f = new Flags(['--name', 'x', '--verbose', '--port', '9'], {}, specs);
  assert.equal(f.get('name'), 'x');
  assert.equal(f.bool('verbose'), true);
  assert.equal(f.int('port', 1, 65535), 9);
  assert.equal(new Flags(['--verbose=false'], {}, specs).bool('verbose'), false);
});

test('unknown arguments and missing values are problems, all of them reported', () => {
  const f = new Flags(['--nope=1', 'stray', '--name'], {}, specs);
  assert.deepEqual(f.problems, [
    'unknown argument "--nope=1" (see --help)',
    'unknown argument "stray" (see --help)',
    '--name needs a value: --name=...',
  ]);
  assert.throws(
    () => f.done({}),
    (err: unknown) =>
      err instanceof FlagError && err.problems.length === 3 && /invalid settings/.test(err.message),
  );
});

test('typed readers name the flag and the value', () => {
  const f = new Flags(
    ['--port=http', '--timeout=soon', '--verbose=yes', '--name=Bad_Name'],
    {},
    { ...specs, level: { help: '', default: 'loud' }, addr: { help: '', default: 'here' } },
  );
  f.int('port', 1, 65535);
  f.duration('timeout');
  f.bool('verbose');
  f.oneOf('level', ['info', 'debug'] as const);
  f.ip('addr');
  assert.equal(f.matching('name', /^[a-z]+$/, 'a lower-case name'), undefined);
  assert.deepEqual(f.problems, [
    '--port: "http" is not an integer in 1..65535',
    '--timeout: "soon" is not a duration like 500ms, 30s, 1m30s, 12h or 90d',
    '--verbose: "yes" is not true or false',
    '--level: "loud" is not info, debug',
    '--addr: "here" is not an IP address',
    '--name: "Bad_Name" is not a lower-case name',
  ]);
});

test('durations: sums of ms, s, m, h and d; a bare integer is milliseconds', () => {
  assert.equal(parseDuration('250'), 250);
  assert.equal(parseDuration('500ms'), 500);
  assert.equal(parseDuration('1.5s'), 1500);
  assert.equal(parseDuration('1m30s'), 90_000);
  assert.equal(parseDuration('12h'), 43_200_000);
  assert.equal(parseDuration('90d'), 90 * 86_400_000);
  for (const bad of ['', ' 5s', '5 s', 's', '5sec', '-1s', '1y', '1.5'])
    assert.equal(parseDuration(bad), undefined, bad);
  const f = new Flags(['--timeout=0'], {}, specs);
  assert.equal(f.duration('timeout', 0), 0);
  assert.deepEqual(f.problems, []);
  f.duration('timeout');
  assert.deepEqual(f.problems, ['--timeout: must be at least 1 ms']);
});

test('usage lists each flag with its environment variable and default', () => {
  const text = usage('x/main.ts', specs);
  assert.match(text, /^usage: node x\/main\.ts/);
  assert.match(text, /--port \[SLUICE_PORT\]\n {6}a port \(default 8080\)/);
  assert.match(text, /--name \[SLUICE_NAME\]\n {6}a name\n/);
});
