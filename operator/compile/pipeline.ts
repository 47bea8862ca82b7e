// The ordered pipeline of processors, and what it reads as a whole: the one place the engine and
// the operator's store learn which fields of which kinds matter and which references to follow.

import { classesProcessor } from './classes/processor.ts';
import { type FieldSet, fieldSet, sameFields } from './core/fields.ts';
import type { Kind, Processor, References } from './core/processor.ts';
import { FOLLOWED, type Followed } from './core/references.ts';
import { emitProcessor } from './emit/processor.ts';
import { ingressProcessor } from './ingress/processor.ts';
import { namespacesProcessor } from './namespaces/processor.ts';
import { routeRatioProcessor } from './routeratio/processor.ts';

export const PIPELINE: readonly Processor[] = [
  namespacesProcessor,
  classesProcessor,
  ingressProcessor,
  routeRatioProcessor,
  emitProcessor,
].sort((a, b) => a.step - b.step);

const fieldSets = new Map<Kind, FieldSet>();
for (const kind of new Set(PIPELINE.flatMap((p) => p.reads.map((r) => r.kind)))) {
  fieldSets.set(kind, fieldSet(PIPELINE.flatMap((p) => p.reads.filter((r) => r.kind === kind))));
}
for (const followed of new Set(PIPELINE.flatMap((p) => p.follows))) {
  fieldSets.set(followed, fieldSet([FOLLOWED[followed]]));
}

/** Whether two versions of an object are the same to the pipeline (e.g. only status changed). */
export function sameInput(kind: Kind, a: unknown, b: unknown): boolean {
  const set = fieldSets.get(kind);
  return set === undefined || sameFields(set, a, b);
}

/** What an object refers to, by every processor that reads its kind. */
export function referencesOf(kind: Kind, obj: unknown): References {
  const out: References = { services: [], secrets: [] };
  for (const p of PIPELINE) {
    const refs = p.references?.(kind, obj);
    if (!refs) continue;
    out.services.push(...refs.services);
    out.secrets.push(...refs.secrets);
  }
  return out;
}

/** Whether an object of a read kind takes part in the pipeline at all. */
export function isRelevant(kind: Kind, obj: unknown, controllerName: string): boolean {
  return PIPELINE.some(
    (p) => p.reads.some((r) => r.kind === kind) && (p.relevant?.(kind, obj, controllerName) ?? true),
  );
}

/** How the referenced kinds the pipeline follows are read. */
export function followed(kind: Kind): Followed | undefined {
  return PIPELINE.some((p) => (p.follows as readonly Kind[]).includes(kind))
    ? FOLLOWED[kind as keyof typeof FOLLOWED]
    : undefined;
}
