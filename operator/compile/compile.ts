// compile(snapshot, options) and createCompiler(options): Kubernetes objects in, data-plane config,
// statuses and events out. Deterministic: no I/O, no clock, objects handled in age order, output
// sorted. Invalid objects are left out and reported; nothing throws out of here.
//
// Both run the engine (engine.ts): a fresh compile is an engine's first compile; a long-lived
// compiler keeps its engine and updates it with each snapshot.

import type { CompileOptions, CompileResult, Compiler, CompilerStats, Snapshot } from './api.ts';
import { emitConfig, hashWhole } from './emit.ts';
import { Engine, StartOver } from './engine.ts';
import { EventLog } from './events.ts';
import { quote } from './objects.ts';
import { type Options, resolveOptions } from './options.ts';

/** The result of a compile that failed: an empty config the operator must not push. */
function failed(error: unknown): CompileResult {
  // A bug, not bad input: report it.
  const detail = error instanceof Error ? error.message : String(error);
  const events = new EventLog();
  events.warn('CompileFailed', `the compiler failed: ${quote(detail, 200)}`, {
    kind: 'IngressClass',
    name: '-',
  });
  return {
    config: emitConfig({ virtualHosts: [], backends: {}, certificates: {} }, hashWhole),
    statuses: { routeRatios: {}, ingresses: {} },
    events: events.sorted(),
  };
}

export function compile(snapshot: Snapshot, options?: CompileOptions): CompileResult {
  try {
    return new Engine(resolveOptions(options), true).compile(snapshot);
  } catch (error) {
    return failed(error);
  }
}

class LongLivedCompiler implements Compiler {
  private readonly options: Options;
  private engine?: Engine;
  readonly stats: CompilerStats = { fullCompiles: 0, incrementalCompiles: 0, recovered: 0 };

  constructor(options: Options) {
    this.options = options;
  }

  compile(snapshot: Snapshot): CompileResult {
    const engine = this.engine;
    if (engine) {
      // A malformed snapshot, or a bug in an update: either way the state is dropped and the
      // snapshot compiled from nothing, which gives the right result.
      try {
        const result = engine.compile(snapshot);
        if (!engine.malformed) {
          this.stats.incrementalCompiles++;
          return result;
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
      return result;
    } catch (error) {
      return failed(error);
    }
  }
}

export function createCompiler(options?: CompileOptions): Compiler {
  return new LongLivedCompiler(resolveOptions(options));
}
