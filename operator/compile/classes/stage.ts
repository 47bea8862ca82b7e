// The IngressClass step of the engine: the class selection every later step reads, and whether
// it changed (then every Ingress is selected again).

import type { Snapshot } from '../api.ts';
import { listOf, sameSelector } from '../core/changes.ts';
import type { Shared, Stage } from '../core/stage.ts';
import { classSelector } from './classes.ts';

export class ClassesStage implements Stage {
  private readonly shared: Shared;

  constructor(shared: Shared) {
    this.shared = shared;
  }

  read(snapshot: Partial<Snapshot>): void {
    const shared = this.shared;
    const selector = classSelector(
      listOf(snapshot.ingressClasses) as Snapshot['ingressClasses'],
      shared.options,
    );
    shared.reselect = shared.selector !== undefined && !sameSelector(shared.selector, selector);
    shared.selector = selector;
  }
}
