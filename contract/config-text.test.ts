import assert from 'node:assert/strict';
import { test } from 'node:test';
import { serializeConfig } from './canonical.ts';
import { ConfigText } from './config-text.ts';
import { applyPatch, diffConfigs } from './patch.ts';
import { backend, backendKey, makeConfig, route, vhost, weighted } from './testing/fixtures.ts';
import {
  largeBackend,
  largeBackends,
  largeConfig,
  largeHost,
  withEntries,
  withVersion,
} from './testing/large-config.ts';
import type { DataplaneConfig } from './types.ts';

const textOf = (t: ConfigText) => Buffer.concat(t.chunks()).toString();

test('the text of a config is serializeConfig’s, its version configVersion’s', () => {
  const config = makeConfig({
    virtualHosts: [vhost('a.example', [route('/', weighted([['v1', 1]]))])],
    backends: { [backendKey('v1')]: backend('v1', [1]) },
    defaultCertificate: undefined,
  });
  const text = ConfigText.of(config);
  assert.equal(text.version, config.version);
  assert.equal(textOf(text), serializeConfig(config).text);

  const empty = makeConfig({ virtualHosts: [], backends: {} });
  assert.equal(ConfigText.of(empty).version, empty.version);
  assert.equal(textOf(ConfigText.of(empty)), serializeConfig(empty).text);
});

test('text with non-ASCII characters keeps byte offsets right', () => {
  // The schema allows only ASCII; the text does not rely on it.
  const config = makeConfig({
    virtualHosts: [
      vhost('a.example', [route('/', weighted([['v1', 1]]), { ingress: 'ns/wé' })]),
      vhost('b.example', []),
    ],
    backends: {
      [backendKey('v1')]: { ...backend('v1', [1]), service: { namespace: 'ns', name: 'vé', port: '80' } },
      [backendKey('v2')]: backend('v2', [2]),
    },
  });
  const from = ConfigText.of(config);
  assert.equal(from.version, config.version);
  const { [backendKey('v2')]: _, ...backends } = config.backends;
  const to = { ...config, backends, virtualHosts: [config.virtualHosts[0]] };
  to.version = serializeConfig(to).version;
  const patch = JSON.parse(JSON.stringify(diffConfigs(config, to)));
  const next = from.patch(patch, applyPatch(config, patch));
  assert.equal(textOf(next), serializeConfig(to).text);
  assert.equal(next.version, to.version);
});

test('patches across hash checkpoints of a large config: text and hash stay exact', () => {
  // 2,000 hosts: about 3 MiB, so changes land before, between and after checkpoints.
  let config: DataplaneConfig = largeConfig(2_000);
  let text = ConfigText.of(JSON.parse(serializeConfig(config).text));
  const hosts = (c: DataplaneConfig) => c.virtualHosts;
  const steps: Array<(c: DataplaneConfig, k: number) => DataplaneConfig> = [
    (c, k) => ({
      ...c,
      virtualHosts: hosts(c).map((v, i) =>
        i === (k * 613) % hosts(c).length
          ? largeHost(Number(v.host.slice(4, v.host.indexOf('.'))), k + 1)
          : v,
      ),
    }),
    (c, k) => {
      const key = Object.keys(c.backends)[(k * 389) % Object.keys(c.backends).length];
      return { ...c, backends: { ...c.backends, [key]: largeBackend('team-1', 'x', '80', k) } };
    },
    (c, k) => ({
      ...c,
      backends: withEntries(c.backends, largeBackends(5_000 + k, 2_000)),
      virtualHosts: [...hosts(c), largeHost(5_000 + k)].sort((a, b) => (a.host < b.host ? -1 : 1)),
    }),
    (c) => ({ ...c, virtualHosts: hosts(c).slice(1) }),
    (c) => ({ ...c, virtualHosts: hosts(c).slice(0, -1) }),
  ];
  for (let k = 0; k < 25; k++) {
    const next = withVersion(steps[k % steps.length](config, k));
    const patch = JSON.parse(JSON.stringify(diffConfigs(config, next)));
    text = text.patch(patch, applyPatch(config, patch));
    assert.equal(text.version, next.version, `step ${k}`);
    config = next;
  }
  assert.equal(textOf(text), serializeConfig(config).text);
});
