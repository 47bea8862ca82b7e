// from-to-www-redirect across updates: the twin host yields when an Ingress comes to name it and
// redirects again when that Ingress leaves, and the long-lived compiler agrees with a fresh compile
// at every step.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import type { Snapshot } from '../../api.ts';
import { compileOk, createCompilerOk } from '../../testing/compile-ok.ts';
import { snapshotFromYaml } from '../../testing/testdata.ts';

const { snapshot: full, options } = snapshotFromYaml(
  readFileSync(join(import.meta.dirname, '../testdata/nginx-redirects-www-served.in.yaml'), 'utf8'),
);

function without(name: string): Snapshot {
  return { ...full, ingresses: full.ingresses.filter((i) => i.metadata?.name !== name) };
}

function twinOf(config: ReturnType<typeof compileOk>['config'], host: string) {
  const vhost = config.virtualHosts.find((v) => v.host === host);
  return vhost?.routes.map((r) => ({ ingress: r.source.ingress, redirect: r.policy.wwwRedirect }));
}

test('a twin host yields to an Ingress that names it, and comes back when it leaves', () => {
  const compiler = createCompilerOk(options);
  const routed = (ingress: string) => [{ ingress, redirect: undefined }];
  const redirects = (ingress: string, host: string) => [{ ingress, redirect: { code: 308, host } }];
  // Each step: the snapshot, then what www.blog.example and shop.example serve.
  const steps: Array<[Snapshot, unknown, unknown]> = [
    [full, routed('shop/blog-www'), routed('shop/shop-owner')],
    [without('blog-www'), redirects('shop/blog', 'blog.example'), routed('shop/shop-owner')],
    [without('shop-owner'), routed('shop/blog-www'), redirects('shop/www-first', 'www.shop.example')],
    [full, routed('shop/blog-www'), routed('shop/shop-owner')],
  ];
  for (const [snapshot, blog, shop] of steps) {
    const incremental = compiler.compile(snapshot);
    const fresh = compileOk(snapshot, options);
    assert.equal(JSON.stringify(incremental.config), JSON.stringify(fresh.config), 'incremental = one-shot');
    assert.deepEqual(twinOf(fresh.config, 'www.blog.example'), blog);
    assert.deepEqual(twinOf(fresh.config, 'shop.example'), shop);
    assert.deepEqual(twinOf(fresh.config, 'www.shop.example'), routed('shop/www-first'));
  }
  assert.ok(compiler.stats.incrementalCompiles >= 3, 'the later steps were compiled as updates');
});
