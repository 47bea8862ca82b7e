// The namespace step of the engine: the snapshot's terminating namespaces, and those that started
// or stopped terminating since the previous compile (only their objects are evaluated again).

import type { Snapshot } from '../api.ts';
import { sameNames, terminatingNamespaces } from '../core/released.ts';
import type { Shared, Stage } from '../core/stage.ts';

export class NamespacesStage implements Stage {
  private readonly shared: Shared;

  constructor(shared: Shared) {
    this.shared = shared;
  }

  read(snapshot: Partial<Snapshot>): void {
    const shared = this.shared;
    const before = shared.terminating;
    const now = terminatingNamespaces(snapshot.namespaces);
    shared.terminating = now;
    shared.flipped = undefined;
    if (sameNames(before, now)) return;
    const flipped = new Set<string>();
    for (const name of now) if (!before.has(name)) flipped.add(name);
    for (const name of before) if (!now.has(name)) flipped.add(name);
    shared.flipped = flipped;
  }
}
