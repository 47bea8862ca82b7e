// The operator's informer against the real API server: first list, watch events, frozen cache,
// and recovery from an API server restart (the watch resumes or relists; a change made
// afterwards arrives).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { V1ConfigMap } from '@kubernetes/client-node';
import { until } from '../../contract/testing/poll.ts';
import { KubeClient } from '../../operator/kube/client.ts';
import { Informer, type InformerEvent, type RestartReason } from '../../operator/kube/informer.ts';
import type { Resource } from '../../operator/kube/resources.ts';
import { freshNamespace, kubectlOk } from '../../operator/testing/harness.ts';
import { cluster } from '../support/cluster.ts';

const CONFIGMAPS: Resource = {
  group: '',
  version: 'v1',
  plural: 'configmaps',
  kind: 'ConfigMap',
  namespaced: true,
};

function configMap(name: string, value: string): string {
  return JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name }, data: { value } });
}

test('list, then watch: adds, updates and deletes arrive; cached objects are frozen', async (t) => {
  const c = await cluster();
  const ns = await freshNamespace(t, c, 'op-informer');
  const client = new KubeClient(c.kc);
  t.after(() => client.close());
  await kubectlOk(c, ['-n', ns, 'apply', '-f', '-'], configMap('before', 'a'));

  const events: Array<InformerEvent<V1ConfigMap>> = [];
  const informer = new Informer<V1ConfigMap>({ client, resource: CONFIGMAPS, namespace: ns, pageSize: 1 });
  informer.on((ev) => events.push(ev));
  t.after(() => informer.stop());
  assert.equal(informer.synced, false);
  informer.start();
  await informer.waitForSync();
  // kube-root-ca.crt is created in every namespace; with pageSize 1 the list took several pages.
  assert.ok(informer.get(ns, 'before'), 'listed');
  assert.equal(informer.get(ns, 'before')?.kind, 'ConfigMap', 'list items get their kind');
  assert.ok(Object.isFrozen(informer.get(ns, 'before')?.data));
  assert.equal(informer.get(ns, 'before')?.metadata?.managedFields, undefined, 'bookkeeping dropped');

  await kubectlOk(c, ['-n', ns, 'apply', '-f', '-'], configMap('after', 'b'));
  await until(() => informer.get(ns, 'after')?.data?.value === 'b', 'add');
  await kubectlOk(c, ['-n', ns, 'apply', '-f', '-'], configMap('after', 'c'));
  await until(() => informer.get(ns, 'after')?.data?.value === 'c', 'update');
  const update = events.find((e) => e.type === 'update' && e.obj.metadata?.name === 'after');
  assert.ok(update && update.type === 'update');
  assert.equal(update.old.data?.value, 'b', 'update carries the old object');
  await kubectlOk(c, ['-n', ns, 'delete', 'configmap', 'before']);
  await until(() => informer.get(ns, 'before') === undefined, 'delete');
  assert.ok(events.some((e) => e.type === 'delete' && e.old.metadata?.name === 'before'));
});

test('a selector limits what is cached', async (t) => {
  const c = await cluster();
  const ns = await freshNamespace(t, c, 'op-informer');
  const client = new KubeClient(c.kc);
  t.after(() => client.close());
  const informer = new Informer<V1ConfigMap>({
    client,
    resource: CONFIGMAPS,
    namespace: ns,
    labelSelector: 'pick=yes',
  });
  t.after(() => informer.stop());
  informer.start();
  await informer.waitForSync();
  const labelled = JSON.stringify({
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: 'yes', labels: { pick: 'yes' } },
  });
  await kubectlOk(c, ['-n', ns, 'apply', '-f', '-'], configMap('no', 'x'));
  await kubectlOk(c, ['-n', ns, 'apply', '-f', '-'], labelled);
  await until(() => informer.get(ns, 'yes') !== undefined, 'labelled object');
  assert.equal(informer.get(ns, 'no'), undefined);
  assert.equal(informer.size, 1);
});

test('survives an API server restart: the watch resumes and later changes arrive', async (t) => {
  const c = await cluster();
  const ns = await freshNamespace(t, c, 'op-informer');
  const client = new KubeClient(c.kc);
  t.after(() => client.close());
  const restarts: RestartReason[] = [];
  const informer = new Informer<V1ConfigMap>({
    client,
    resource: CONFIGMAPS,
    namespace: ns,
    backoff: { initialMs: 200, maxMs: 2000 },
    onRestart: (reason) => restarts.push(reason),
  });
  t.after(() => informer.stop());
  informer.start();
  await informer.waitForSync();
  await kubectlOk(c, ['-n', ns, 'apply', '-f', '-'], configMap('one', '1'));
  await until(() => informer.get(ns, 'one') !== undefined, 'before restart');

  await c.restartApiServer();
  await kubectlOk(c, ['-n', ns, 'apply', '-f', '-'], configMap('two', '2'));
  await until(() => informer.get(ns, 'two')?.data?.value === '2', 'change after restart');
  assert.ok(restarts.length >= 1, 'the watch was restarted');
  assert.ok(informer.get(ns, 'one'), 'earlier state kept');
});
