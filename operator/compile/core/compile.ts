// compile(snapshot, options) and createCompiler(options): Kubernetes objects in, data-plane config,
// statuses and events out. Deterministic: no I/O, no clock, objects handled in age order, output
// sorted. Invalid objects are left out and reported; nothing throws out of here: a compile that
// throws all the same (a bug) comes back as `{ ok: false, error }`, which has no config to push.
//
// Both run the engine (engine.ts): a fresh compile is an engine's first compile; a long-lived
// compiler keeps its engine and updates it with each snapshot.

import type {
  CompileFailure,
  CompileOptions,
  CompileOutcome,
  CompileResult,
  Compiler,
  CompilerStats,
  Snapshot,
} from '../api.ts';
import { Engine, StartOver } from './engine.ts';
import { type Options, resolveOptions } from './options.ts';

function succeeded(result: CompileResult): CompileOutcome {
  return { ok: true, ...result };
}

/** A compile that threw: a bug, not bad input. No config: the operator has nothing to push. */
function failed(error: unknown): CompileFailure {
  return { ok: false, error: error instanceof Error ? error : new Error(String(error)) };
}

export function compile(snapshot: Snapshot, options?: CompileOptions): CompileOutcome {
  try {
    return succeeded(new Engine(resolveOptions(options), true).compile(snapshot));
  } catch (error) {
    return failed(error);
  }
}

class LongLivedCompiler implements Compiler {
  private readonly options: Options;
  private engine?: Engine;
  readonly stats: CompilerStats = { fullCompiles: 0, incrementalCompiles: 0, recovered: 0, failures: 0 };

  constructor(options: Options) {
    this.options = options;
  }

  compile(snapshot: Snapshot): CompileOutcome {
    const engine = this.engine;
    if (engine) {
      // A malformed snapshot, or a bug in an update: either way the state is dropped and the
      // snapshot compiled from nothing, which gives the right result.
      try {
        const result = engine.compile(snapshot);
        if (!engine.malformed) {
          this.stats.incrementalCompiles++;
          return succeeded(result);
        }
      } catch (error) {
        if (!(error instanceof StartOver)) this.stats.recovered++;
      }
      this.engine = undefined;
    }
    this.stats.fullCompiles++;
    const fresh = new Engine(this.options, false);
    try {
      const result = fresh.compile(snapshot);
      // A state built from a snapshot that names two objects alike is not updated.
      if (!fresh.malformed) this.engine = fresh;
      return succeeded(result);
    } catch (error) {
      // Nothing of this compile is kept: the next snapshot is compiled from nothing again.
      this.stats.failures++;
      return failed(error);
    }
  }
}

export function createCompiler(options?: CompileOptions): Compiler {
  return new LongLivedCompiler(resolveOptions(options));
}
