// The compiler's engine. It keeps what the pipeline derived from each input object and, given the
// next snapshot, finds the objects added and removed (by identity; inputs are immutable) and lets
// each processor's stage redo only what depends on them. Its first compile is a fresh compile, so
// a long-lived engine and a fresh one give the same output for the same snapshot. Pieces of the
// config whose inputs did not change are the same objects as in the previous result.
//
// The core keeps what several steps follow (Services, EndpointSlices, Secrets); everything else
// is a processor's stage, run in PIPELINE order (core/stage.ts).

import type { CompileResult, Snapshot } from '../api.ts';
import { SecretIndex } from '../ingress/tls.ts';
import { PIPELINE, sameInput } from '../pipeline.ts';
import { Changes, listOf } from './changes.ts';
import { ServiceIndex } from './endpoints.ts';
import { EventLog } from './events.ts';
import { addName } from './objects.ts';
import type { Options } from './options.ts';
import { newShared, type Shared, type Stage } from './stage.ts';
import { TrackedList } from './tracking.ts';

/** Thrown when an update cannot be applied (a malformed snapshot): the compile starts over. */
export class StartOver extends Error {}

export class Engine {
  private readonly shared: Shared;
  /** The processors' stages, in step order. */
  private readonly stages: Stage[] = [];
  private readonly serviceList = new TrackedList<object>();
  private readonly sliceList = new TrackedList<object>();
  private readonly secretList = new TrackedList<object>();
  private readonly services = new ServiceIndex(undefined, undefined);
  private readonly secrets = new SecretIndex(undefined);

  /** `once`: the engine compiles one snapshot and is dropped (see EmitStage). */
  constructor(options: Options, once: boolean) {
    this.shared = newShared(options, once, sameInput, this.services, this.secrets);
    for (const processor of PIPELINE) {
      const stage = processor.stage?.(this.shared);
      if (stage) this.stages.push(stage);
    }
  }

  /** Whether a snapshot named two objects of one kind alike: such a state is rebuilt, not updated. */
  get malformed(): boolean {
    return (
      this.services.duplicates || this.secrets.duplicates > 0 || this.stages.some((stage) => stage.malformed)
    );
  }

  compile(snapshot: Partial<Snapshot>): CompileResult {
    const shared = this.shared;
    const first = shared.compiles === 0;
    const c = new Changes(++shared.compiles);
    // The first compile builds everything: what changed is not worth recording.
    this.services.tracking = !first;
    const s: Partial<Snapshot> = snapshot ?? {};
    this.updateServices(listOf(s.services), listOf(s.endpointSlices), c);
    this.updateSecrets(listOf(s.secrets));
    for (const stage of this.stages) {
      stage.read?.(s, c);
      // Checked once a stage that can find duplicates has read its objects.
      if (!first && stage.malformed !== undefined && this.malformed) throw new StartOver();
    }
    for (const stage of this.stages) stage.derive?.(c);

    const last = shared.last;
    const result: CompileResult = {
      config: shared.config!,
      statuses: {
        routeRatios: shared.statuses.routeRatios ?? {},
        ingresses: shared.statuses.ingresses ?? {},
      },
      events: last === undefined || c.events ? this.events() : last.events,
    };
    shared.last = result;
    return result;
  }

  private updateServices(services: readonly unknown[], slices: readonly unknown[], c: Changes): void {
    this.services.beginChanges();
    const svc = this.serviceList.update(services);
    for (const raw of svc.removed) this.services.removeService(raw);
    for (const raw of svc.added) this.services.addService(raw);
    const sl = this.sliceList.update(slices);
    for (const raw of sl.removed) this.services.removeSlice(raw);
    for (const raw of sl.added) this.services.addSlice(raw);
    for (const [namespace, names] of this.services.changedServices) {
      for (const name of names) addName(c.refs, namespace, name);
    }
  }

  private updateSecrets(secrets: readonly unknown[]): void {
    this.secrets.beginChanges();
    const changes = this.secretList.update(secrets);
    for (const raw of changes.removed) this.secrets.remove(raw);
    for (const raw of changes.added) this.secrets.add(raw);
  }

  private events(): CompileResult['events'] {
    const log = new EventLog();
    for (const stage of this.stages) stage.events?.(log);
    return log.sorted();
  }
}
