import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Certificate, Issuer } from '@kubernetes-models/cert-manager/cert-manager.io/v1';
import { certManagerObjects, ingressClassCondition, webhookConfiguration, webhookRbac } from './manifests.ts';

test('webhookConfiguration: v1 reviews, no side effects, short timeout, fail closed, scoped', () => {
  const vwc = webhookConfiguration();
  assert.equal(vwc.metadata?.name, 'sluice-webhook');
  assert.equal(vwc.metadata?.annotations, undefined);
  assert.deepEqual(
    vwc.webhooks?.map((w) => w.name),
    ['ingress.validate.sluice.dev', 'routeratio.validate.sluice.dev'],
  );
  for (const w of vwc.webhooks ?? []) {
    assert.deepEqual(w.admissionReviewVersions, ['v1']);
    assert.equal(w.sideEffects, 'None');
    assert.equal(w.timeoutSeconds, 5);
    assert.equal(w.failurePolicy, 'Fail');
    assert.deepEqual(w.namespaceSelector, {
      matchExpressions: [
        { key: 'kubernetes.io/metadata.name', operator: 'NotIn', values: ['kube-system', 'sluice-system'] },
      ],
    });
    assert.deepEqual(w.rules?.[0].operations, ['CREATE', 'UPDATE']);
    assert.equal(w.clientConfig.caBundle, undefined);
  }
  const [ing, rr] = vwc.webhooks ?? [];
  assert.deepEqual(ing.clientConfig.service, {
    name: 'sluice-webhook',
    namespace: 'sluice-system',
    path: '/validate/ingress',
    port: 443,
  });
  assert.deepEqual(ing.rules?.[0].resources, ['ingresses']);
  assert.deepEqual(ing.rules?.[0].apiGroups, ['networking.k8s.io']);
  assert.equal(ing.matchConditions?.[0].name, 'sluice-ingress-class');
  assert.deepEqual(rr.rules?.[0].apiGroups, ['sluice.dev']);
  assert.deepEqual(rr.rules?.[0].apiVersions, ['v1alpha1']);
  assert.deepEqual(rr.rules?.[0].resources, ['routeratios']);
  assert.equal(rr.matchConditions, undefined);
});

test('webhookConfiguration: URL registration with a caBundle, extra namespace labels, cert-manager injection', () => {
  const vwc = webhookConfiguration({
    name: 'x',
    namespace: 'edge',
    url: 'https://127.0.0.1:8443/',
    caBundle: 'PEM',
    namespaceLabels: { team: 'a' },
    certManagerCertificate: 'sluice-webhook-tls',
    classNames: ['sluice', 'sluice-internal'],
  });
  assert.equal(vwc.metadata?.annotations?.['cert-manager.io/inject-ca-from'], 'edge/sluice-webhook-tls');
  const [ing, rr] = vwc.webhooks ?? [];
  assert.deepEqual(ing.clientConfig, {
    url: 'https://127.0.0.1:8443/validate/ingress',
    caBundle: Buffer.from('PEM').toString('base64'),
  });
  assert.equal(rr.clientConfig.url, 'https://127.0.0.1:8443/validate/routeratio');
  assert.deepEqual(ing.namespaceSelector?.matchLabels, { team: 'a' });
  assert.deepEqual(ing.namespaceSelector?.matchExpressions?.[0].values, ['kube-system', 'edge']);
  assert.match(ing.matchConditions?.[0].expression ?? '', /in \["sluice", "sluice-internal"\]/);
});

test('the class condition mirrors class selection and refuses names that are not DNS names', () => {
  assert.equal(
    ingressClassCondition(['sluice']),
    'has(object.spec.ingressClassName) && object.spec.ingressClassName != "" ? object.spec.ingressClassName in ["sluice"] ' +
      ': (has(object.metadata.annotations) && "kubernetes.io/ingress.class" in object.metadata.annotations ' +
      '? object.metadata.annotations["kubernetes.io/ingress.class"] in ["sluice"] : true)',
  );
  assert.throws(() => ingressClassCondition(['a" || true || "']), /not a DNS name/);
  assert.throws(() => webhookConfiguration({ namespace: 'Bad_NS' }), /not a DNS name/);
});

test('certManagerObjects: self-signed Issuer -> CA Certificate -> CA Issuer -> serving Certificate', () => {
  const [selfSigned, ca, caIssuer, serving] = certManagerObjects({ namespace: 'edge' });
  new Issuer(selfSigned).validate();
  new Certificate(ca).validate();
  new Issuer(caIssuer).validate();
  new Certificate(serving).validate();
  for (const o of [selfSigned, ca, caIssuer, serving]) {
    assert.equal(o.metadata?.namespace, 'edge');
  }
  assert.deepEqual(selfSigned.spec?.selfSigned, {});
  assert.equal(ca.spec?.isCA, true);
  assert.equal(ca.metadata?.name, 'sluice-webhook-ca');
  assert.equal(ca.spec?.issuerRef.name, selfSigned.metadata?.name);
  assert.equal(caIssuer.spec?.ca?.secretName, ca.spec?.secretName);
  assert.equal(serving.spec?.issuerRef.name, caIssuer.metadata?.name);
  assert.equal(serving.spec?.isCA, undefined);
  assert.deepEqual(serving.spec?.dnsNames, [
    'sluice-webhook',
    'sluice-webhook.edge',
    'sluice-webhook.edge.svc',
    'sluice-webhook.edge.svc.cluster.local',
  ]);
  assert.equal(serving.spec?.secretName, 'sluice-webhook-tls');
  const json = JSON.parse(JSON.stringify(serving));
  assert.equal(json.apiVersion, 'cert-manager.io/v1');
  assert.equal(json.kind, 'Certificate');
  const vwc = webhookConfiguration({ namespace: 'edge', certManagerCertificate: serving.metadata?.name });
  assert.equal(vwc.metadata?.annotations?.['cert-manager.io/inject-ca-from'], 'edge/sluice-webhook-tls');
});

test('webhookRbac: reads claims and Services, never Secrets beyond its own', () => {
  const plain = webhookRbac();
  assert.equal(plain.role, undefined);
  const all = JSON.stringify(plain);
  assert.doesNotMatch(all, /secrets/);
  assert.doesNotMatch(all, /"(create|update|patch|delete)"/);

  const self = webhookRbac({ selfManaged: true, namespace: 'edge' });
  const secretRules = self.role?.rules?.filter((r) => r.resources?.includes('secrets')) ?? [];
  assert.deepEqual(secretRules, [
    {
      apiGroups: [''],
      resources: ['secrets'],
      resourceNames: ['sluice-webhook-certs'],
      verbs: ['get', 'update'],
    },
  ]);
  const creating = webhookRbac({ selfManaged: true, createSecret: true });
  assert.deepEqual(creating.role?.rules?.at(-1), {
    apiGroups: [''],
    resources: ['secrets'],
    verbs: ['create'],
  });
  assert.equal(self.role?.metadata?.namespace, 'edge');
  const vwcRule = self.clusterRole.rules?.find((r) =>
    r.resources?.includes('validatingwebhookconfigurations'),
  );
  assert.deepEqual(vwcRule?.resourceNames, ['sluice-webhook']);
  assert.ok(!self.clusterRole.rules?.some((r) => r.resources?.includes('secrets')));
});
