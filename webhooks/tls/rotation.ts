// Self-managed certificates as a small state machine, pure apart from key generation.
//
// The caBundle the API server trusts must always contain the CA that signed the certificate the
// webhook serves. So a CA is replaced in two steps: a new CA is first added to the bundle
// (`stage-ca`), and only once that bundle has been published and has had time to reach every
// API server (`propagationDelayMs`) does the new CA sign the serving certificate (`promote-ca`).
// The old CA stays in the bundle until it expires, so replicas still serving the old certificate
// keep working throughout.
import {
  type CertAndKey,
  coversNames,
  generateCa,
  issuedBy,
  issueServing,
  notAfter,
  notBefore,
  pairMatches,
  parseCert,
  splitPem,
  type Validity,
} from '../../runtime/pki.ts';

export interface CertState {
  /** The CA that signs the serving certificate. */
  ca?: CertAndKey;
  serving?: CertAndKey;
  /** A CA being introduced: already in the bundle, not signing yet. */
  nextCa?: CertAndKey;
  /** When `nextCa` entered the bundle (ISO time). */
  nextCaSince?: string;
  /** PEM certificates for the webhook configuration's caBundle. */
  bundle: string[];
}

export interface RotationPolicy {
  caValidityMs: number;
  servingValidityMs: number;
  /** Renew when less than this fraction of the validity remains (cert-manager's default is 1/3). */
  renewFraction: number;
  /** Time between publishing a new CA in the caBundle and serving a certificate it signed. */
  propagationDelayMs: number;
  commonName: string;
  /** DNS names and IP addresses the serving certificate must carry. */
  names: string[];
}

export type StepKind = 'create' | 'stage-ca' | 'promote-ca' | 'renew-serving' | 'fix-bundle' | 'none';

export interface Step {
  kind: StepKind;
  reason: string;
}

/** Certificates are valid from a few minutes back, for clocks slightly behind ours. */
const BACKDATE_MS = 5 * 60_000;

function remaining(pem: string, now: Date): number {
  const cert = parseCert(pem);
  return cert ? notAfter(cert).getTime() - now.getTime() : -1;
}

/** The bundle the state should publish: signing CA, next CA, then older CAs not yet expired. */
export function desiredBundle(state: CertState, now: Date): string[] {
  const out: string[] = [];
  const seen = new Set<string>();
  const add = (pem: string | undefined) => {
    const cert = parseCert(pem);
    if (!cert || notAfter(cert).getTime() <= now.getTime() || seen.has(cert.fingerprint256)) return;
    seen.add(cert.fingerprint256);
    out.push(pem!.endsWith('\n') ? pem! : `${pem}\n`);
  };
  add(state.ca?.cert);
  add(state.nextCa?.cert);
  for (const pem of state.bundle) add(pem);
  return out;
}

function sameBundle(a: readonly string[], b: readonly string[]): boolean {
  const fp = (l: readonly string[]) => l.map((p) => parseCert(p)?.fingerprint256 ?? p).join(',');
  return fp(a) === fp(b);
}

export function nextStep(state: CertState, now: Date, policy: RotationPolicy, published: boolean): Step {
  const { ca, serving, nextCa } = state;
  if (!ca || !pairMatches(ca) || remaining(ca.cert, now) <= 0)
    return { kind: 'create', reason: 'no usable CA' };
  const caCert = parseCert(ca.cert)!;

  if (nextCa) {
    if (!pairMatches(nextCa)) return { kind: 'stage-ca', reason: 'the staged CA is unusable' };
    const since = Date.parse(state.nextCaSince ?? '');
    const waited = Number.isFinite(since) ? now.getTime() - since : Number.POSITIVE_INFINITY;
    if (published && waited >= policy.propagationDelayMs) {
      return { kind: 'promote-ca', reason: 'the new CA has been in the caBundle long enough' };
    }
  } else if (remaining(ca.cert, now) < policy.caValidityMs * policy.renewFraction) {
    return { kind: 'stage-ca', reason: 'the CA is close to expiry' };
  }

  const servingCert = parseCert(serving?.cert);
  if (!serving || !servingCert || !pairMatches(serving))
    return { kind: 'renew-serving', reason: 'no usable serving certificate' };
  if (!issuedBy(servingCert, caCert))
    return { kind: 'renew-serving', reason: 'the serving certificate is not signed by the CA' };
  if (!coversNames(servingCert, policy.names))
    return { kind: 'renew-serving', reason: 'the wanted names changed' };
  // Measured against the certificate's own lifetime, which its CA's expiry may have cut short.
  const lifetime = notAfter(servingCert).getTime() - notBefore(servingCert).getTime() - BACKDATE_MS;
  if (remaining(serving.cert, now) < lifetime * policy.renewFraction) {
    return { kind: 'renew-serving', reason: 'the serving certificate is close to expiry' };
  }

  if (!sameBundle(state.bundle, desiredBundle(state, now)))
    return { kind: 'fix-bundle', reason: 'the caBundle is out of date' };
  return { kind: 'none', reason: 'up to date' };
}

function caValidity(now: Date, policy: RotationPolicy): Validity {
  return {
    notBefore: new Date(now.getTime() - BACKDATE_MS),
    notAfter: new Date(now.getTime() + policy.caValidityMs),
  };
}

async function serve(ca: CertAndKey, now: Date, policy: RotationPolicy): Promise<CertAndKey> {
  const caEnd = notAfter(parseCert(ca.cert)!).getTime();
  const end = Math.min(now.getTime() + policy.servingValidityMs, caEnd);
  return issueServing(
    ca,
    { commonName: policy.commonName, names: policy.names },
    { notBefore: new Date(now.getTime() - BACKDATE_MS), notAfter: new Date(end) },
  );
}

export async function applyStep(
  state: CertState,
  step: Step,
  now: Date,
  policy: RotationPolicy,
): Promise<CertState> {
  let next: CertState;
  switch (step.kind) {
    case 'create': {
      const ca = await generateCa(`${policy.commonName}-ca`, caValidity(now, policy));
      next = { ca, serving: await serve(ca, now, policy), bundle: state.bundle };
      break;
    }
    case 'stage-ca': {
      const nextCa = await generateCa(`${policy.commonName}-ca`, caValidity(now, policy));
      next = { ...state, nextCa, nextCaSince: now.toISOString() };
      break;
    }
    case 'promote-ca': {
      const ca = state.nextCa!;
      next = { ca, serving: await serve(ca, now, policy), bundle: [...state.bundle, state.ca!.cert] };
      break;
    }
    case 'renew-serving':
      next = { ...state, serving: await serve(state.ca!, now, policy) };
      break;
    case 'fix-bundle':
    case 'none':
      next = { ...state };
      break;
  }
  return { ...next, bundle: desiredBundle(next, now) };
}

/** Applies steps until nothing is left to do (bounded). Returns the new state and what was done. */
export async function reconcileState(
  state: CertState,
  now: Date,
  policy: RotationPolicy,
  published: boolean,
): Promise<{ state: CertState; steps: Step[] }> {
  const steps: Step[] = [];
  let current = state;
  for (let i = 0; i < 5; i++) {
    const step = nextStep(current, now, policy, published);
    if (step.kind === 'none') break;
    steps.push(step);
    current = await applyStep(current, step, now, policy);
    // A freshly staged CA is not published yet, whatever was true before.
    if (step.kind === 'stage-ca') published = false;
  }
  return { state: current, steps };
}

// The Secret that holds the state: a kubernetes.io/tls Secret (tls.crt/tls.key) with the CA
// material beside it.
export const NEXT_CA_SINCE_ANNOTATION = 'sluice.dev/next-ca-since';
const b64 = (s: string) => Buffer.from(s, 'utf8').toString('base64');
const unb64 = (s: string | undefined) => (s ? Buffer.from(s, 'base64').toString('utf8') : undefined);

function pair(cert: string | undefined, key: string | undefined): CertAndKey | undefined {
  return cert && key ? { cert, key } : undefined;
}

export function stateFromSecret(
  secret: { data?: Record<string, string>; metadata?: { annotations?: Record<string, string> } } | undefined,
): CertState {
  const d = secret?.data ?? {};
  return {
    ca: pair(unb64(d['ca.crt']), unb64(d['ca.key'])),
    serving: pair(unb64(d['tls.crt']), unb64(d['tls.key'])),
    nextCa: pair(unb64(d['next-ca.crt']), unb64(d['next-ca.key'])),
    nextCaSince: secret?.metadata?.annotations?.[NEXT_CA_SINCE_ANNOTATION],
    bundle: splitPem(unb64(d['ca-bundle.crt']) ?? ''),
  };
}

export function secretDataFromState(state: CertState): {
  data: Record<string, string>;
  nextCaSince?: string;
} {
  const data: Record<string, string> = {};
  if (state.serving) {
    data['tls.crt'] = b64(state.serving.cert);
    data['tls.key'] = b64(state.serving.key);
  }
  if (state.ca) {
    data['ca.crt'] = b64(state.ca.cert);
    data['ca.key'] = b64(state.ca.key);
  }
  if (state.nextCa) {
    data['next-ca.crt'] = b64(state.nextCa.cert);
    data['next-ca.key'] = b64(state.nextCa.key);
  }
  data['ca-bundle.crt'] = b64(state.bundle.join(''));
  return { data, nextCaSince: state.nextCa ? state.nextCaSince : undefined };
}
