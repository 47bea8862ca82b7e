// AdmissionReview in, AdmissionReview out: the webhook's decisions as pure functions over the
// review and a frozen view of the cluster. Conflict and validity rules come from the compiler
// (operator/compile), so the webhook refuses exactly what the operator would leave out.
//
// Updates ratchet: a problem or conflict the object already had before the update is reported as
// a warning, not a denial, so metadata edits and finalizer removal on an old object never block.
import type { V1Ingress, V1IngressClass } from '@kubernetes/client-node';
import type { ClaimIndex, CompileOptions, Conflict, Problem, RouteRatio } from '../operator/compile/api.ts';
import { RR_GROUP } from '../operator/compile/api.ts';
import {
  ingressNotices,
  isSluiceIngress,
  validateIngress,
  validateRouteRatio,
} from '../operator/compile/index.ts';
import {
  type AdmissionRequest,
  type AdmissionReviewRequest,
  type AdmissionReviewResponse,
  allow,
  deny,
  denyInternal,
} from './admission.ts';
import { boundWarnings, joinReasons, sanitize } from './messages.ts';
import { ingressShapeError, routeRatioShapeError } from './shapes.ts';
import { ingressWarnings, routeRatioWarnings, type ServiceLookup, shadowedPaths } from './warnings.ts';

export interface ReviewContext {
  index: ClaimIndex;
  ingressClasses: readonly V1IngressClass[];
  service: ServiceLookup;
  /** All Ingresses of one namespace (any class). */
  ingressesIn(namespace: string): readonly V1Ingress[];
  options: CompileOptions;
}

/** What a review decided, before it is turned into a response; the server uses `holders` to re-check stale denials. */
export interface Verdict {
  allowed: boolean;
  /** Deny reasons (empty when allowed). */
  reasons: string[];
  warnings: string[];
  /** Objects whose claims caused a denial. */
  conflicts: Conflict[];
}

const ALLOW: Verdict = { allowed: true, reasons: [], warnings: [], conflicts: [] };

export function verdictResponse(uid: string, v: Verdict): AdmissionReviewResponse {
  const warnings = boundWarnings(v.warnings);
  return v.allowed ? allow(uid, warnings) : deny(uid, joinReasons(v.reasons), warnings);
}

function denied(reason: string): Verdict {
  return { allowed: false, reasons: [reason], warnings: [], conflicts: [] };
}

function problemText(p: Problem): string {
  return p.field ? `${p.field}: ${p.message}` : p.message;
}

/** Splits current findings into new ones (deny) and ones the previous version already had (warn). */
function ratchet<T>(
  now: readonly T[],
  before: readonly T[],
  key: (x: T) => string,
): { added: T[]; kept: T[] } {
  const old = new Set(before.map(key));
  const added: T[] = [];
  const kept: T[] = [];
  for (const x of now) (old.has(key(x)) ? kept : added).push(x);
  return { added, kept };
}

/** The object with its namespace filled in from the request (the API server may leave it out on create). */
function withNamespace<T extends { metadata?: { namespace?: string } }>(
  obj: T,
  namespace: string | undefined,
): T {
  if (obj.metadata?.namespace || !namespace) return obj;
  return { ...obj, metadata: { ...obj.metadata, namespace } };
}

function operationVerdict(req: AdmissionRequest): Verdict | undefined {
  // DELETE and CONNECT never change routing claims; subresources (status) leave spec alone.
  if (req.operation !== 'CREATE' && req.operation !== 'UPDATE') return ALLOW;
  if (req.subResource) return ALLOW;
  if (!req.object) return denied(`${req.operation} request carries no object`);
  return undefined;
}

function combine(
  problems: { added: Problem[]; kept: Problem[] },
  conflicts: { added: Conflict[]; kept: Conflict[] },
  warnings: string[],
): Verdict {
  const reasons = [...problems.added.map(problemText), ...conflicts.added.map((c) => c.message)];
  const allWarnings = [
    ...problems.kept.map((p) => `already present before this update: ${problemText(p)}`),
    ...conflicts.kept.map((c) => `already present before this update: ${c.message}`),
    ...warnings,
  ];
  return { allowed: reasons.length === 0, reasons, warnings: allWarnings, conflicts: conflicts.added };
}

const problemKey = (p: Problem) => `${p.field}\u0000${p.message}`;
const conflictKey = (c: Conflict) => `${c.kind}\u0000${c.message}`;

export function ingressVerdict(req: AdmissionRequest, ctx: ReviewContext): Verdict {
  if (req.kind.group !== 'networking.k8s.io' || req.kind.kind !== 'Ingress') {
    return denied(
      `this endpoint reviews networking.k8s.io Ingresses, not ${sanitize(`${req.kind.group}/${req.kind.kind}`, 200)}`,
    );
  }
  const early = operationVerdict(req);
  if (early) return early;
  const shape = ingressShapeError(req.object);
  if (shape) return denied(shape);
  const ingress = withNamespace(req.object as unknown as V1Ingress, req.namespace);
  // An object on its way out must be able to drop its finalizers.
  if (ingress.metadata?.deletionTimestamp) return ALLOW;
  if (!isSluiceIngress(ingress, [...ctx.ingressClasses], ctx.options)) return ALLOW;

  let old: V1Ingress | undefined;
  if (req.operation === 'UPDATE' && req.oldObject && ingressShapeError(req.oldObject) === undefined) {
    const candidate = withNamespace(req.oldObject as unknown as V1Ingress, req.namespace);
    if (isSluiceIngress(candidate, [...ctx.ingressClasses], ctx.options)) old = candidate;
  }
  // A path repeated within the object is routed once and the repeat is left out: the compiler
  // reports the repeat, the webhook lets it through with a warning (ingressWarnings names it).
  const validate = (i: V1Ingress) => {
    const shadowed = new Set(shadowedPaths(i).map((s) => s.field));
    return validateIngress(i, ctx.options).filter((p) => !shadowed.has(p.field));
  };
  const problems = ratchet(validate(ingress), old ? validate(old) : [], problemKey);
  const conflicts = ratchet(
    ctx.index.ingressConflicts(ingress),
    old ? ctx.index.ingressConflicts(old) : [],
    conflictKey,
  );
  // One warning per ingress-nginx annotation not served as written (the operator's Warning Event
  // lists the same).
  const warnings = [
    ...ingressWarnings(ingress, ctx),
    ...ingressNotices(ingress, ctx.options).map(problemText),
  ];
  return combine(problems, conflicts, warnings);
}

export function routeRatioVerdict(req: AdmissionRequest, ctx: ReviewContext): Verdict {
  if (req.kind.group !== RR_GROUP || req.kind.kind !== 'RouteRatio') {
    return denied(
      `this endpoint reviews sluice.dev RouteRatios, not ${sanitize(`${req.kind.group}/${req.kind.kind}`, 200)}`,
    );
  }
  const early = operationVerdict(req);
  if (early) return early;
  const shape = routeRatioShapeError(req.object);
  if (shape) return denied(shape);
  const rr = withNamespace(req.object as unknown as RouteRatio, req.namespace);
  if (rr.metadata.deletionTimestamp) return ALLOW;
  let old: RouteRatio | undefined;
  if (req.operation === 'UPDATE' && req.oldObject && routeRatioShapeError(req.oldObject) === undefined) {
    old = withNamespace(req.oldObject as unknown as RouteRatio, req.namespace);
  }
  const problems = ratchet(validateRouteRatio(rr), old ? validateRouteRatio(old) : [], problemKey);
  const conflicts = ratchet(
    ctx.index.routeRatioConflicts(rr),
    old ? ctx.index.routeRatioConflicts(old) : [],
    conflictKey,
  );
  // Only Sluice's Ingresses can carry the split.
  const view = {
    service: ctx.service,
    ingressesIn: (ns: string) =>
      ctx.ingressesIn(ns).filter((ing) => isSluiceIngress(ing, [...ctx.ingressClasses], ctx.options)),
  };
  return combine(problems, conflicts, routeRatioWarnings(rr, view));
}

function guarded(
  review: AdmissionReviewRequest,
  ctx: ReviewContext,
  decide: (req: AdmissionRequest, ctx: ReviewContext) => Verdict,
): AdmissionReviewResponse {
  try {
    return verdictResponse(review.request.uid, decide(review.request, ctx));
  } catch (err) {
    return denyInternal(review.request.uid, sanitize(err instanceof Error ? err.message : String(err), 300));
  }
}

/** The response to an Ingress review; never throws (an internal error denies). */
export function reviewIngress(review: AdmissionReviewRequest, ctx: ReviewContext): AdmissionReviewResponse {
  return guarded(review, ctx, ingressVerdict);
}

/** The response to a RouteRatio review; never throws (an internal error denies). */
export function reviewRouteRatio(
  review: AdmissionReviewRequest,
  ctx: ReviewContext,
): AdmissionReviewResponse {
  return guarded(review, ctx, routeRatioVerdict);
}
