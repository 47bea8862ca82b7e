// Which Ingresses are Sluice's: the IngressClass rules of the Ingress API.
//
// 1. `spec.ingressClassName` names an IngressClass whose `spec.controller` is Sluice's.
// 2. Without it, the legacy `kubernetes.io/ingress.class` annotation equals Sluice's class name.
// 3. Without either, the default IngressClass (annotation
//    `ingressclass.kubernetes.io/is-default-class: "true"`; the newest if several) is Sluice's.
// Ingresses of other controllers' classes are ignored.
//
// ingress-nginx mode (options.ingressNginxClassNames not empty) takes over ingress-nginx's classes
// as well: IngressClasses whose controller is `k8s.io/ingress-nginx` count as Sluice's (also as
// the default class), and the configured names are Sluice's in the legacy annotation and in
// `ingressClassName`, there even without an IngressClass object (ingress-nginx's own class goes
// away with it), unless an IngressClass of that name belongs to a third controller.

import type { V1Ingress, V1IngressClass } from '@kubernetes/client-node';
import { type CompileOptions, INGRESS_NGINX_CONTROLLER } from '../api.ts';
import { asRecord, asString, compareAge, isRecord, stringMap, timestamp } from '../core/objects.ts';
import { type Options, resolveOptions } from '../core/options.ts';

export const LEGACY_CLASS_ANNOTATION = 'kubernetes.io/ingress.class';
export const DEFAULT_CLASS_ANNOTATION = 'ingressclass.kubernetes.io/is-default-class';

/** Precomputed class facts, so checking 10,000 Ingresses does not rescan the classes. */
export interface ClassSelector {
  ours: Set<string>;
  /** The default class is Sluice's. */
  defaultIsOurs: boolean;
  /** Values of the legacy annotation that are Sluice's. */
  legacyNames: ReadonlySet<string>;
}

export function classSelector(
  ingressClasses: readonly V1IngressClass[] | undefined,
  options: Options,
): ClassSelector {
  const ours = new Set<string>();
  const others = new Set<string>();
  const nginxMode = options.ingressNginxClassNames.length > 0;
  const defaults: Array<{ created: string; key: string; ours: boolean }> = [];
  for (const cls of Array.isArray(ingressClasses) ? ingressClasses : []) {
    if (!isRecord(cls)) continue;
    const meta = asRecord(cls.metadata);
    const name = asString(meta.name);
    if (name === undefined || name === '') continue;
    const controller = asString(asRecord(cls.spec).controller);
    const isOurs =
      controller === options.controllerName || (nginxMode && controller === INGRESS_NGINX_CONTROLLER);
    if (isOurs) ours.add(name);
    else others.add(name);
    if (stringMap(meta.annotations)[DEFAULT_CLASS_ANNOTATION] === 'true') {
      defaults.push({ created: timestamp(meta.creationTimestamp), key: name, ours: isOurs });
    }
  }
  // Newest default wins, as the DefaultIngressClass admission plugin picks it.
  defaults.sort((a, b) => compareAge(b, a));
  for (const name of options.ingressNginxClassNames) if (!others.has(name)) ours.add(name);
  return {
    ours,
    defaultIsOurs: defaults.length > 0 && defaults[0].ours,
    legacyNames: new Set([options.className, ...options.ingressNginxClassNames]),
  };
}

export function selectsIngress(selector: ClassSelector, ingress: unknown): boolean {
  if (!isRecord(ingress)) return false;
  const className = asString(asRecord(ingress.spec).ingressClassName);
  if (className !== undefined && className !== '') return selector.ours.has(className);
  const legacy = stringMap(asRecord(ingress.metadata).annotations)[LEGACY_CLASS_ANNOTATION];
  if (legacy !== undefined) return selector.legacyNames.has(legacy);
  return selector.defaultIsOurs;
}

export function isSluiceIngress(
  ingress: V1Ingress,
  ingressClasses: V1IngressClass[],
  options?: CompileOptions,
): boolean {
  try {
    return selectsIngress(classSelector(ingressClasses, resolveOptions(options)), ingress);
  } catch {
    return false;
  }
}
