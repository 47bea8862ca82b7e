// A processor is one step of the compile pipeline. It declares what it reads, so the engine and the
// operator's store decide from the same declarations whether an object, or a change to one, can
// alter the output: a change to a field no processor reads causes no work.

import type { FollowedKind, Kind } from './kinds.ts';
import type { Shared, Stage } from './stage.ts';

export type { FollowedKind, Kind } from './kinds.ts';

/** The parts of one kind a processor depends on. */
export interface Reads {
  kind: Kind;
  /** Dotted paths of the fields that matter; two versions equal on all of them compile alike. */
  fields: readonly string[];
  /** Annotations that never matter (tools' bookkeeping), left out of `metadata.annotations`. */
  ignoredAnnotations?: readonly string[];
}

/** `<namespace>/<name>` keys of the objects one object refers to. */
export interface References {
  services: string[];
  secrets: string[];
}

export interface Processor {
  name: string;
  /** Its place in the pipeline: lower steps run first and their results feed later ones. */
  step: number;
  reads: readonly Reads[];
  /** The referenced kinds it reads; only the referenced objects of those kinds matter. */
  follows: readonly FollowedKind[];
  /** What an object of a kind it reads refers to (Services, Secrets). */
  references?(kind: Kind, obj: unknown): References | undefined;
  /**
   * For a kind whose objects matter only in part: whether this one takes part at all (an
   * IngressClass of another controller that is not the default takes part in nothing).
   */
  relevant?(kind: Kind, obj: unknown, controllerName: string): boolean;
  /**
   * Its part of the engine: a new stage for each engine, holding its incremental state. The
   * engine runs the stages in step order (core/stage.ts).
   */
  stage?(shared: Shared): Stage;
}

/** kubectl's copy of the applied object: bookkeeping, never an input. */
export const LAST_APPLIED_ANNOTATION = 'kubectl.kubernetes.io/last-applied-configuration';
