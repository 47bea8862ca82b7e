// Self-managed certificates: the CA and serving certificate live in a Secret of the webhook's own
// namespace, are rotated before they expire (see rotation.ts), and the webhook configuration's
// caBundle is kept equal to the published bundle. Several replicas may run this loop at once:
// every write carries a resourceVersion, and a replica that loses a race re-reads next time.
import type { Logger } from 'pino';
import type { KubeClient } from '../../operator/kube/client.ts';
import { type CertAndKey, joinPem, splitPem } from '../../runtime/pki.ts';
import {
  applyStep,
  type CertState,
  NEXT_CA_SINCE_ANNOTATION,
  type RotationPolicy,
  reconcileState,
  type Step,
  secretDataFromState,
  stateFromSecret,
} from './rotation.ts';

export interface SelfManagedOptions {
  client: KubeClient;
  namespace: string;
  secretName: string;
  /** The ValidatingWebhookConfiguration whose caBundle this keeps current. */
  webhookConfigurationName: string;
  policy: RotationPolicy;
  checkIntervalMs: number;
  log: Logger;
  /** Called with the serving certificate whenever it changes (and once at start). */
  onServing: (pair: CertAndKey, state: CertState) => void;
  now?: () => Date;
}

interface SecretObject {
  type?: string;
  metadata?: {
    resourceVersion?: string;
    annotations?: Record<string, string>;
    labels?: Record<string, string>;
  };
  data?: Record<string, string>;
}

interface WebhookConfigurationObject {
  metadata?: { resourceVersion?: string };
  webhooks?: Array<{ clientConfig?: { caBundle?: string } }>;
}

export class SelfManagedCertificates {
  #o: SelfManagedOptions;
  #now: () => Date;
  #loaded: string | undefined;
  #timer: NodeJS.Timeout | undefined;
  #chain: Promise<unknown> = Promise.resolve();
  #state: CertState | undefined;
  #stopped = false;

  constructor(opts: SelfManagedOptions) {
    this.#o = opts;
    this.#now = opts.now ?? (() => new Date());
  }

  get #secretPath(): string {
    return `/api/v1/namespaces/${encodeURIComponent(this.#o.namespace)}/secrets/${encodeURIComponent(this.#o.secretName)}`;
  }

  get #vwcPath(): string {
    return `/apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations/${encodeURIComponent(this.#o.webhookConfigurationName)}`;
  }

  /** The state last read or written. */
  get state(): CertState | undefined {
    return this.#state;
  }

  /** One pass; passes never overlap. Resolves with the steps taken. */
  reconcile(force?: Step['kind']): Promise<Step[]> {
    const run = this.#chain.then(() => this.#reconcileOnce(force));
    this.#chain = run.catch(() => undefined);
    return run;
  }

  /** Starts rotating now: a new CA (`ca`) or just a new serving certificate. */
  rotate(what: 'ca' | 'serving'): Promise<Step[]> {
    return this.reconcile(what === 'ca' ? 'stage-ca' : 'renew-serving');
  }

  async #readVwc(): Promise<WebhookConfigurationObject | undefined> {
    const res = await this.#o.client.send<WebhookConfigurationObject>('GET', this.#vwcPath);
    if (res.status === 404) return undefined;
    if (res.status !== 200) throw new Error(`reading ValidatingWebhookConfiguration: HTTP ${res.status}`);
    return res.body;
  }

  /** One pass; a write that loses a race with another replica re-reads and tries again. */
  async #reconcileOnce(force?: Step['kind']): Promise<Step[]> {
    for (let attempt = 1; attempt <= 5; attempt++) {
      const steps = await this.#attempt(force);
      if (steps) return steps;
      this.#o.log.info({ attempt }, 'certificate Secret changed underneath (another replica); re-reading');
    }
    throw new Error(`Secret ${this.#o.secretName} kept changing underneath; will retry`);
  }

  /** Undefined when the Secret changed between read and write. */
  async #attempt(force?: Step['kind']): Promise<Step[] | undefined> {
    const { client, policy, log } = this.#o;
    const now = this.#now();
    const res = await client.send<SecretObject>('GET', this.#secretPath);
    if (res.status !== 200 && res.status !== 404)
      throw new Error(`reading Secret ${this.#o.secretName}: HTTP ${res.status}`);
    const secret = res.status === 200 ? res.body : undefined;
    let state = stateFromSecret(secret);

    const vwc = await this.#readVwc();
    // With no configuration to publish to there is nothing to wait for.
    const published = !state.nextCa || !vwc || bundleHas(vwc, state.nextCa.cert);

    const steps: Step[] = [];
    if (force && state.ca) {
      const step = { kind: force, reason: 'rotation requested' } as Step;
      state = await applyStep(state, step, now, policy);
      steps.push(step);
    }
    const result = await reconcileState(state, now, policy, published && force !== 'stage-ca');
    state = result.state;
    steps.push(...result.steps);

    if (steps.length > 0) {
      if (!(await this.#writeSecret(secret, state))) return undefined;
      log.info({ steps: steps.map((s) => `${s.kind}: ${s.reason}`) }, 'webhook certificates updated');
    }
    // Publish, then serve: a new CA is trusted before anything it signed is presented.
    await this.#publish(state, vwc);
    if (state.serving && state.serving.cert !== this.#loaded) {
      this.#loaded = state.serving.cert;
      this.#o.onServing(state.serving, state);
    }
    this.#state = state;
    return steps;
  }

  async #writeSecret(previous: SecretObject | undefined, state: CertState): Promise<boolean> {
    const { data, nextCaSince } = secretDataFromState(state);
    const annotations = { ...(previous?.metadata?.annotations ?? {}) };
    delete annotations[NEXT_CA_SINCE_ANNOTATION];
    if (nextCaSince) annotations[NEXT_CA_SINCE_ANNOTATION] = nextCaSince;
    const body = {
      apiVersion: 'v1',
      kind: 'Secret',
      // The type of an existing Secret cannot change (the chart creates it as kubernetes.io/tls).
      type: previous?.type ?? 'kubernetes.io/tls',
      metadata: {
        name: this.#o.secretName,
        namespace: this.#o.namespace,
        labels: previous?.metadata?.labels ?? {
          'app.kubernetes.io/name': 'sluice',
          'app.kubernetes.io/component': 'webhook',
        },
        annotations,
        ...(previous?.metadata?.resourceVersion
          ? { resourceVersion: previous.metadata.resourceVersion }
          : {}),
      },
      data,
    };
    const res = previous
      ? await this.#o.client.send('PUT', this.#secretPath, { body })
      : await this.#o.client.send(
          'POST',
          `/api/v1/namespaces/${encodeURIComponent(this.#o.namespace)}/secrets`,
          {
            body,
          },
        );
    if (res.status === 409) return false;
    if (res.status < 200 || res.status > 299)
      throw new Error(`writing Secret ${this.#o.secretName}: HTTP ${res.status}`);
    return true;
  }

  /** Puts the bundle into every webhook of the configuration, retrying once on a write race. */
  async #publish(state: CertState, first: WebhookConfigurationObject | undefined): Promise<void> {
    const want = Buffer.from(joinPem(state.bundle)).toString('base64');
    let vwc = first;
    for (let attempt = 0; attempt < 2; attempt++) {
      if (!vwc) {
        this.#o.log.warn(
          { name: this.#o.webhookConfigurationName },
          'ValidatingWebhookConfiguration not found; caBundle not published',
        );
        return;
      }
      const hooks = vwc.webhooks ?? [];
      if (hooks.every((h) => h.clientConfig?.caBundle === want)) return;
      for (const h of hooks) h.clientConfig = { ...h.clientConfig, caBundle: want };
      const res = await this.#o.client.send('PUT', this.#vwcPath, { body: vwc });
      if (res.status >= 200 && res.status < 300) {
        this.#o.log.info({ cas: state.bundle.length }, 'caBundle published');
        return;
      }
      if (res.status !== 409) throw new Error(`updating ValidatingWebhookConfiguration: HTTP ${res.status}`);
      vwc = await this.#readVwc();
    }
  }

  /**
   * First pass, retried until a serving certificate is loaded (there is nothing to serve without
   * one), then periodic checks.
   */
  async start(): Promise<void> {
    let delay = 500;
    for (;;) {
      try {
        await this.reconcile();
        if (this.#loaded) break;
        throw new Error('no serving certificate after the first pass');
      } catch (err) {
        if (this.#stopped) throw err;
        this.#o.log.error({ err }, `certificate set-up failed; retrying in ${delay} ms`);
        await new Promise((r) => setTimeout(r, delay));
        delay = Math.min(delay * 2, 30_000);
      }
    }
    this.#timer = setInterval(() => {
      this.reconcile().catch((err) => this.#o.log.error({ err }, 'certificate check failed'));
    }, this.#o.checkIntervalMs);
    this.#timer.unref();
  }

  stop(): void {
    this.#stopped = true;
    clearInterval(this.#timer);
    this.#timer = undefined;
  }
}

function bundleHas(vwc: WebhookConfigurationObject, certPem: string): boolean {
  const hooks = vwc.webhooks ?? [];
  if (hooks.length === 0) return true;
  const want = splitPem(certPem)[0];
  return hooks.every((h) => {
    const pem = Buffer.from(h.clientConfig?.caBundle ?? '', 'base64').toString('utf8');
    return splitPem(pem).includes(want);
  });
}
