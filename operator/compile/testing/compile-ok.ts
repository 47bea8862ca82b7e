// For tests and benchmarks only: `compile` and `createCompiler` that throw the compiler's error
// when a compile fails, so code that only expects success reads the config directly.

import type { CompileOptions, CompileOutcome, CompilerStats, CompileSuccess, Snapshot } from '../api.ts';
import { compile, createCompiler } from '../core/compile.ts';

/** The successful outcome, or the compile's own error thrown (with its stack). */
export function expectCompiled(outcome: CompileOutcome): CompileSuccess {
  if (!outcome.ok) throw outcome.error;
  return outcome;
}

export function compileOk(snapshot: Snapshot, options?: CompileOptions): CompileSuccess {
  return expectCompiled(compile(snapshot, options));
}

export function createCompilerOk(options?: CompileOptions): {
  compile(snapshot: Snapshot): CompileSuccess;
  readonly stats: CompilerStats;
} {
  const compiler = createCompiler(options);
  return {
    compile: (snapshot) => expectCompiled(compiler.compile(snapshot)),
    get stats() {
      return compiler.stats;
    },
  };
}
