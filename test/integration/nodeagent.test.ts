// The node agent plays kubelet: pods run as processes in their own network namespaces on the
// sluice0 bridge, and the real Deployment, ReplicaSet and EndpointSlice controllers do the rest.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import {
  AdmissionregistrationV1Api,
  CoordinationV1Api,
  CoreV1Api,
  DiscoveryV1Api,
  type V1Endpoint,
  type V1Pod,
} from '@kubernetes/client-node';
import { until } from '../../contract/testing/poll.ts';
import { generateCa, issueServing } from '../../runtime/pki.ts';
import { cluster, type TestCluster } from '../support/cluster.ts';
import { assertOwnRoute, httpGet } from '../support/podnet.ts';

const node = 'devnode-1';

/** Polls `fn` until it has an answer; pods and kubelets on this machine need up to 90 s. */
const eventually = <T>(what: string, fn: () => Promise<T | undefined>, limitMs = 90_000) =>
  until(fn, what, limitMs, 150);

async function apply(c: TestCluster, ns: string, yaml: string): Promise<void> {
  const r = await c.kubectl(['apply', '-n', ns, '-f', '-'], { input: yaml });
  assert.equal(r.code, 0, r.stderr);
}

async function endpoints(c: TestCluster, ns: string, service: string): Promise<V1Endpoint[]> {
  const discovery = c.kc.makeApiClient(DiscoveryV1Api);
  const list = await discovery.listNamespacedEndpointSlice({
    namespace: ns,
    labelSelector: `kubernetes.io/service-name=${service}`,
  });
  return list.items.flatMap((s) => s.endpoints ?? []);
}

const ready = (e: V1Endpoint): boolean => e.conditions?.ready === true;

async function podByName(c: TestCluster, ns: string, name: string): Promise<V1Pod> {
  return c.kc.makeApiClient(CoreV1Api).readNamespacedPod({ namespace: ns, name });
}

function podReady(p: V1Pod): boolean {
  return p.status?.conditions?.some((x) => x.type === 'Ready' && x.status === 'True') ?? false;
}

interface EchoAnswer {
  pod: string;
  namespace: string;
  text: string;
  path: string;
}

async function askEcho(addr: string, port = 8080, path = '/'): Promise<EchoAnswer & { header: string }> {
  const r = await httpGet(`http://${addr}:${port}${path}`);
  assert.equal(r.status, 200, r.body);
  return { ...(JSON.parse(r.body) as EchoAnswer), header: String(r.headers['x-echo-pod']) };
}

function echoDeployment(name: string, replicas: number, text: string): string {
  return `apiVersion: apps/v1
kind: Deployment
metadata: {name: ${name}}
spec:
  replicas: ${replicas}
  selector: {matchLabels: {app: ${name}}}
  strategy: {rollingUpdate: {maxSurge: 1, maxUnavailable: 0}}
  template:
    metadata: {labels: {app: ${name}}}
    spec:
      terminationGracePeriodSeconds: 20
      containers:
      - name: echo
        image: sluice.dev/echo:dev
        ports: [{name: http, containerPort: 8080}]
        env:
        - {name: POD_NAME, valueFrom: {fieldRef: {fieldPath: metadata.name}}}
        - {name: POD_NAMESPACE, valueFrom: {fieldRef: {fieldPath: metadata.namespace}}}
        - {name: ECHO_TEXT, value: "${text}"}
        - {name: ECHO_DRAIN_MS, value: "2500"}
---
apiVersion: v1
kind: Service
metadata: {name: ${name}}
spec:
  selector: {app: ${name}}
  ports: [{port: 80, targetPort: http}]
`;
}

describe('node agent', { concurrency: true }, () => {
  it('registers a Ready node kept fresh by a Lease', async () => {
    const c = await cluster();
    const n = await c.kc.makeApiClient(CoreV1Api).readNode({ name: node });
    const cond = n.status?.conditions?.find((x) => x.type === 'Ready');
    assert.equal(cond?.status, 'True');
    assert.equal(n.status?.addresses?.find((a) => a.type === 'InternalIP')?.address, '198.18.0.1');
    const lease = await c.kc
      .makeApiClient(CoordinationV1Api)
      .readNamespacedLease({ namespace: 'kube-node-lease', name: node });
    assert.equal(lease.spec?.holderIdentity, node);
    const first = new Date(lease.spec?.renewTime ?? 0).getTime();
    await eventually('a lease renewal', async () => {
      const l = await c.kc
        .makeApiClient(CoordinationV1Api)
        .readNamespacedLease({ namespace: 'kube-node-lease', name: node });
      return new Date(l.spec?.renewTime ?? 0).getTime() > first ? true : undefined;
    });
  });

  it('refuses traffic that would leave the machine', async () => {
    // The pod network's bridge exists once the node agent runs (tests here run concurrently).
    await cluster();
    await assert.rejects(assertOwnRoute('192.0.2.1'), /only loopback and 198\.18\.0\.0\/15/);
    await assert.rejects(httpGet('http://10.0.0.1/'), /refusing/);
    await assertOwnRoute('127.0.0.1');
    await assertOwnRoute('198.19.255.254');
  });

  it('runs a Deployment behind a Service, scales it and rolls it through terminating endpoints', async (t) => {
    const c = await cluster();
    const ns = await c.namespace(t, 'agent-echo');
    await apply(c, ns, echoDeployment('echo', 2, 'v1'));

    const two = await eventually('two ready endpoints', async () => {
      const eps = await endpoints(c, ns, 'echo');
      return eps.length === 2 && eps.every(ready) ? eps : undefined;
    });
    for (const e of two) {
      const addr = e.addresses[0];
      assert.match(addr, /^198\.1[89]\.\d+\.\d+$/);
      assert.equal(e.nodeName, node);
      const answer = await askEcho(addr);
      assert.equal(answer.pod, e.targetRef?.name);
      assert.equal(answer.header, e.targetRef?.name);
      assert.equal(answer.namespace, ns);
      assert.equal(answer.text, 'v1');
    }

    const scaled = await c.kubectl(['scale', '-n', ns, 'deployment/echo', '--replicas=1']);
    assert.equal(scaled.code, 0, scaled.stderr);
    const one = await eventually('one endpoint after scaling down', async () => {
      const eps = await endpoints(c, ns, 'echo');
      return eps.length === 1 && ready(eps[0]) ? eps[0] : undefined;
    });
    assert.ok(two.some((e) => e.addresses[0] === one.addresses[0]));
    assert.equal((await askEcho(one.addresses[0])).text, 'v1');

    // Rolling update: the old pod drains for 2.5 s after SIGTERM, so its endpoint must show up
    // as terminating (not ready, still serving) before it goes away.
    const patched = await c.kubectl(['set', 'env', '-n', ns, 'deployment/echo', 'ECHO_TEXT=v2']);
    assert.equal(patched.code, 0, patched.stderr);
    let sawTerminating = false;
    const rolled = await eventually('the rollout to finish', async () => {
      const eps = await endpoints(c, ns, 'echo');
      if (eps.some((e) => e.conditions?.terminating && e.conditions.serving && !e.conditions.ready)) {
        sawTerminating = true;
      }
      if (eps.length !== 1 || !ready(eps[0]) || eps[0].addresses[0] === one.addresses[0]) return undefined;
      const answer = await askEcho(eps[0].addresses[0]);
      return answer.text === 'v2' ? eps[0] : undefined;
    });
    assert.ok(sawTerminating, 'the old endpoint never showed up as terminating');
    assert.notEqual(rolled.targetRef?.name, one.targetRef?.name);
  });

  it('keeps a pod whose readiness probe fails out of the ready endpoints', async (t) => {
    const c = await cluster();
    const ns = await c.namespace(t, 'agent-ready');
    const flag = join(tmpdir(), `sluice-not-ready-${randomBytes(4).toString('hex')}`);
    writeFileSync(flag, '');
    t.after(() => rmSync(flag, { force: true }));
    const pod = (name: string, env: string) => `apiVersion: v1
kind: Pod
metadata: {name: ${name}, labels: {app: web}}
spec:
  containers:
  - name: echo
    image: sluice.dev/echo:dev
    ports: [{name: http, containerPort: 8080}]
    env: [${env}]
    readinessProbe: {httpGet: {path: /ready, port: http}, periodSeconds: 1, failureThreshold: 1}
`;
    await apply(
      c,
      ns,
      `${pod('good', '{name: POD_NAME, value: good}')}---
${pod('bad', `{name: ECHO_NOT_READY_FILE, value: "${flag}"}`)}---
apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  selector: {app: web}
  ports: [{port: 80, targetPort: http}]
`,
    );
    const eps = await eventually('both pods in the EndpointSlice, only one ready', async () => {
      const all = await endpoints(c, ns, 'web');
      const good = all.find((e) => e.targetRef?.name === 'good');
      const bad = all.find((e) => e.targetRef?.name === 'bad');
      return good && bad && ready(good) && !ready(bad) ? { good, bad } : undefined;
    });
    assert.equal(eps.bad.conditions?.serving, false);
    const bad = await podByName(c, ns, 'bad');
    assert.equal(bad.status?.phase, 'Running');
    assert.equal(podReady(bad), false);
    assert.equal(bad.status?.containerStatuses?.[0].ready, false);
    // The process itself answers (once it listens: a pod is not ready before that either); only
    // its readiness endpoint says no.
    const r = await eventually('the not-ready pod to answer', () =>
      httpGet(`http://${eps.bad.addresses[0]}:8080/ready`),
    );
    assert.equal(r.status, 503);

    rmSync(flag);
    await eventually('the pod to become ready once its probe passes', async () => {
      const all = await endpoints(c, ns, 'web');
      const e = all.find((x) => x.targetRef?.name === 'bad');
      return e && ready(e) ? e : undefined;
    });
  });

  it('reports why a pod with an unknown image does not start', async (t) => {
    const c = await cluster();
    const ns = await c.namespace(t, 'agent-image');
    await apply(
      c,
      ns,
      `apiVersion: v1
kind: Pod
metadata: {name: nope}
spec:
  containers: [{name: app, image: "registry.example/nothing:1.0"}]
`,
    );
    const waiting = await eventually('an ErrImagePull waiting reason', async () => {
      const p = await podByName(c, ns, 'nope');
      const w = p.status?.containerStatuses?.[0]?.state?.waiting;
      return w?.reason === 'ErrImagePull' ? { w, p } : undefined;
    });
    assert.match(waiting.w.message ?? '', /registry\.example\/nothing:1\.0.*image table/);
    assert.equal(waiting.p.status?.phase, 'Pending');
    assert.equal(waiting.p.spec?.nodeName, node);
  });

  it('restarts containers by restartPolicy with back-off and reports how they ended', async (t) => {
    const c = await cluster();
    const ns = await c.namespace(t, 'agent-restart');
    const pod = (name: string, policy: string, code: number) => `apiVersion: v1
kind: Pod
metadata: {name: ${name}}
spec:
  restartPolicy: ${policy}
  containers:
  - {name: app, image: sluice.dev/sluice:dev, args: ["-e", "process.exit(${code})"]}
`;
    await apply(
      c,
      ns,
      [pod('crash', 'Always', 3), pod('fails', 'Never', 4), pod('done', 'OnFailure', 0)].join('---\n'),
    );
    const crash = await eventually('a restart and CrashLoopBackOff', async () => {
      const p = await podByName(c, ns, 'crash');
      const s = p.status?.containerStatuses?.[0];
      return (s?.restartCount ?? 0) >= 1 && s?.state?.waiting?.reason === 'CrashLoopBackOff' ? p : undefined;
    });
    assert.equal(crash.status?.phase, 'Running');
    assert.equal(crash.status?.containerStatuses?.[0].lastState?.terminated?.exitCode, 3);
    const fails = await eventually('phase Failed', async () => {
      const p = await podByName(c, ns, 'fails');
      return p.status?.phase === 'Failed' ? p : undefined;
    });
    assert.equal(fails.status?.containerStatuses?.[0].state?.terminated?.exitCode, 4);
    assert.equal(fails.status?.containerStatuses?.[0].restartCount, 0);
    const done = await eventually('phase Succeeded', async () => {
      const p = await podByName(c, ns, 'done');
      return p.status?.phase === 'Succeeded' ? p : undefined;
    });
    assert.equal(done.status?.containerStatuses?.[0].state?.terminated?.reason, 'Completed');
  });

  it('runs init containers first, shares emptyDir, and SIGKILLs what ignores SIGTERM', async (t) => {
    const c = await cluster();
    const ns = await c.namespace(t, 'agent-init');
    const init = "require('node:fs').writeFileSync('/tmp/sluice-init-work/ready', 'from-init')";
    const app = `process.on('SIGTERM', () => console.log('ignoring SIGTERM'));
require('node:http').createServer((q, s) => s.end(require('node:fs').readFileSync('/tmp/sluice-init-work/ready'))).listen(8080);`;
    await apply(
      c,
      ns,
      `apiVersion: v1
kind: Pod
metadata: {name: init}
spec:
  terminationGracePeriodSeconds: 1
  initContainers:
  - {name: prepare, image: sluice.dev/sluice:dev, args: ["-e", ${JSON.stringify(init)}], volumeMounts: [{name: work, mountPath: /tmp/sluice-init-work}]}
  containers:
  - name: app
    image: sluice.dev/sluice:dev
    args: ["-e", ${JSON.stringify(app)}]
    ports: [{containerPort: 8080}]
    volumeMounts: [{name: work, mountPath: /tmp/sluice-init-work}]
  volumes: [{name: work, emptyDir: {}}]
`,
    );
    const p = await eventually('the pod to be ready', async () => {
      const x = await podByName(c, ns, 'init');
      return podReady(x) ? x : undefined;
    });
    assert.equal(p.status?.initContainerStatuses?.[0].state?.terminated?.exitCode, 0);
    const r = await httpGet(`http://${p.status?.podIP}:8080/`);
    assert.equal(r.body, 'from-init');

    // The app ignores SIGTERM: deletion still completes once the 1 s grace period is over.
    const del = await c.kubectl(['delete', 'pod', '-n', ns, 'init', '--wait=true', '--timeout=60s']);
    assert.equal(del.code, 0, del.stderr);
    const gone = await c.kubectl(['get', 'pod', '-n', ns, 'init']);
    assert.match(gone.stderr, /NotFound/);
  });

  it('feeds env and volumes from ConfigMaps and Secrets and follows their updates', async (t) => {
    const c = await cluster();
    const ns = await c.namespace(t, 'agent-vol');
    await apply(
      c,
      ns,
      `apiVersion: v1
kind: ConfigMap
metadata: {name: text}
data: {text: first, port: "8081"}
---
apiVersion: v1
kind: Secret
metadata: {name: who}
stringData: {namespace: from-a-secret}
---
apiVersion: v1
kind: Pod
metadata: {name: vol}
spec:
  containers:
  - name: echo
    image: sluice.dev/echo:dev
    ports: [{containerPort: 8081}]
    env:
    - {name: ECHO_PORT, valueFrom: {configMapKeyRef: {name: text, key: port}}}
    - {name: POD_NAMESPACE, valueFrom: {secretKeyRef: {name: who, key: namespace}}}
    - {name: POD_NAME, valueFrom: {fieldRef: {fieldPath: metadata.name}}}
    - {name: POD_IP, valueFrom: {fieldRef: {fieldPath: status.podIP}}}
    - {name: ECHO_TEXT_FILE, value: /etc/echo-text/text}
    volumeMounts: [{name: text, mountPath: /etc/echo-text, readOnly: true}]
  volumes:
  - {name: text, configMap: {name: text}}
`,
    );
    const pod = await eventually('the pod to be ready', async () => {
      const p = await podByName(c, ns, 'vol');
      return podReady(p) ? p : undefined;
    });
    const ip = pod.status?.podIP ?? '';
    const first = await askEcho(ip, 8081);
    assert.deepEqual([first.pod, first.namespace, first.text], ['vol', 'from-a-secret', 'first']);

    const patched = await c.kubectl([
      'patch',
      '-n',
      ns,
      'configmap/text',
      '-p',
      '{"data":{"text":"second"}}',
    ]);
    assert.equal(patched.code, 0, patched.stderr);
    await eventually('the mounted ConfigMap to follow the update', async () =>
      (await askEcho(ip, 8081)).text === 'second' ? true : undefined,
    );
  });

  it('gives pods a service-account token that the API server checks with RBAC', async (t) => {
    const c = await cluster();
    const ns = await c.namespace(t, 'agent-sa');
    // The pod answers each request by listing ConfigMaps with its own token (in-cluster style).
    const script = `
const fs = require('node:fs'), http = require('node:http'), https = require('node:https');
const sa = '/var/run/secrets/kubernetes.io/serviceaccount/';
http.createServer((req, res) => {
  const ns = fs.readFileSync(sa + 'namespace', 'utf8');
  const call = https.request({
    host: process.env.KUBERNETES_SERVICE_HOST, port: process.env.KUBERNETES_SERVICE_PORT,
    path: '/api/v1/namespaces/' + ns + '/configmaps', ca: fs.readFileSync(sa + 'ca.crt'),
    headers: { authorization: 'Bearer ' + fs.readFileSync(sa + 'token', 'utf8') },
  }, (r) => {
    let body = '';
    r.on('data', (d) => { body += d; });
    r.on('end', () => res.end(JSON.stringify({ status: r.statusCode, body })));
  });
  call.on('error', (e) => { res.statusCode = 502; res.end(String(e)); });
  call.end();
}).listen(8080);`;
    await apply(
      c,
      ns,
      `apiVersion: v1
kind: Pod
metadata: {name: caller}
spec:
  containers:
  - name: caller
    image: sluice.dev/sluice:dev
    args: ["-e", ${JSON.stringify(script)}]
    ports: [{containerPort: 8080}]
`,
    );
    const pod = await eventually('the pod to be ready', async () => {
      const p = await podByName(c, ns, 'caller');
      return podReady(p) ? p : undefined;
    });
    const ip = pod.status?.podIP ?? '';
    const call = async (): Promise<{ status: number; body: string }> => {
      // Each answer waits for the pod's own API call (TLS handshake, token review): seconds on a
      // loaded machine.
      const r = await httpGet(`http://${ip}:8080/`, { timeoutMs: 30_000 });
      assert.equal(r.status, 200, r.body);
      return JSON.parse(r.body) as { status: number; body: string };
    };
    const denied = await eventually('the pod to answer', call);
    assert.equal(denied.status, 403, denied.body);
    assert.match(denied.body, new RegExp(`system:serviceaccount:${ns}:default`));

    await apply(
      c,
      ns,
      `apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: read-configmaps}
rules: [{apiGroups: [""], resources: [configmaps], verbs: [list]}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: read-configmaps}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: read-configmaps}
subjects: [{kind: ServiceAccount, name: default, namespace: ${ns}}]
`,
    );
    const allowed = await eventually('the RoleBinding to take effect', async () => {
      const r = await call();
      return r.status === 200 ? r : undefined;
    });
    assert.equal((JSON.parse(allowed.body) as { kind: string }).kind, 'ConfigMapList');
  });

  it('lets the API server call a webhook registered by Service reference', async (t: TestContext) => {
    const c = await cluster();
    const ns = await c.namespace(t, 'agent-hook');
    const now = Date.now();
    const validity = { notBefore: new Date(now - 3600_000), notAfter: new Date(now + 86_400_000) };
    const ca = await generateCa('agent-hook-ca', validity);
    const serving = await issueServing(ca, { commonName: 'hook', names: [`hook.${ns}.svc`] }, validity);
    const script = `
const fs = require('node:fs'), https = require('node:https');
https.createServer({ cert: fs.readFileSync('/tls/tls.crt'), key: fs.readFileSync('/tls/tls.key') }, (req, res) => {
  let body = '';
  req.on('data', (d) => { body += d; });
  req.on('end', () => {
    const request = JSON.parse(body).request;
    const allowed = !String(request.name).startsWith('deny-');
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', response: {
      uid: request.uid, allowed,
      status: allowed ? undefined : { code: 403, message: 'refused by the hook in pod ' + process.env.POD_NAME },
    } }));
  });
}).listen(8443);`;
    const b64 = (s: string) => Buffer.from(s).toString('base64');
    await apply(
      c,
      ns,
      `apiVersion: v1
kind: Secret
metadata: {name: hook-tls}
type: kubernetes.io/tls
data: {tls.crt: ${b64(serving.cert)}, tls.key: ${b64(serving.key)}}
---
apiVersion: v1
kind: Pod
metadata: {name: hook, labels: {app: hook}}
spec:
  containers:
  - name: hook
    image: sluice.dev/sluice:dev
    args: ["-e", ${JSON.stringify(script)}]
    ports: [{name: https, containerPort: 8443}]
    env: [{name: POD_NAME, valueFrom: {fieldRef: {fieldPath: metadata.name}}}]
    volumeMounts: [{name: tls, mountPath: /tls, readOnly: true}]
  volumes: [{name: tls, secret: {secretName: hook-tls}}]
---
apiVersion: v1
kind: Service
metadata: {name: hook}
spec:
  selector: {app: hook}
  ports: [{port: 443, targetPort: https}]
`,
    );
    await eventually('a ready webhook endpoint', async () => {
      const eps = await endpoints(c, ns, 'hook');
      return eps.length === 1 && ready(eps[0]) ? true : undefined;
    });

    const admission = c.kc.makeApiClient(AdmissionregistrationV1Api);
    const name = `${ns}.agent-hook.test.sluice.dev`;
    t.after(async () => {
      await admission.deleteValidatingWebhookConfiguration({ name }).catch(() => undefined);
    });
    await admission.createValidatingWebhookConfiguration({
      body: {
        metadata: { name },
        webhooks: [
          {
            name,
            clientConfig: {
              service: { namespace: ns, name: 'hook', path: '/validate', port: 443 },
              caBundle: b64(ca.cert),
            },
            rules: [
              { operations: ['CREATE'], apiGroups: [''], apiVersions: ['v1'], resources: ['configmaps'] },
            ],
            namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': ns } },
            failurePolicy: 'Fail',
            sideEffects: 'None',
            admissionReviewVersions: ['v1'],
            timeoutSeconds: 5,
          },
        ],
      },
    });
    const refused = await eventually('the webhook to refuse a ConfigMap', async () => {
      const r = await c.kubectl(['create', 'configmap', '-n', ns, `deny-${randomBytes(3).toString('hex')}`]);
      return r.code !== 0 && /refused by the hook/.test(r.stderr) ? r : undefined;
    });
    assert.match(refused.stderr, /refused by the hook in pod hook/);
    const allowed = await c.kubectl(['create', 'configmap', '-n', ns, 'allow-me']);
    assert.equal(allowed.code, 0, allowed.stderr);
  });
});
