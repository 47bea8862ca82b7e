// Entry point of the data plane. Flags and environment: docs/dataplane.md.
import { FlagError } from '../contract/flags.ts';
import { createLogger } from './observability/access-log.ts';
import { parseOptions, usage } from './options.ts';
import { startDataplane } from './start.ts';

/** Exit status after a fault outside every request (EX_SOFTWARE): the pod restarts. */
const FAULT_EXIT = 70;

if (process.argv.includes('--help') || process.argv.includes('-h')) {
  process.stdout.write(usage());
  process.exit(0);
}

let options: ReturnType<typeof parseOptions>;
try {
  options = parseOptions(process.argv.slice(2));
} catch (err) {
  process.stderr.write(`${err instanceof FlagError ? err.message : String(err)}\n`);
  process.exit(2);
}

const log = createLogger({ level: options.logLevel });
let dataplane: Awaited<ReturnType<typeof startDataplane>> | undefined;

// Faults inside a request are contained where Node or undici calls into the traffic path
// (proxy/contain.ts). A throw that reaches this point came from outside every request: an
// internal invariant is broken and nothing says the process state is still sound. Stop taking
// traffic, let requests in flight finish within the drain timeout, and exit non-zero so the
// pod restarts. A second fault while draining exits at once.
let faulted = false;
function processFault(kind: 'uncaughtException' | 'unhandledRejection', err: unknown): void {
  if (faulted) {
    log.fatal({ kind, err }, 'second fault while draining: exiting now');
    process.exit(FAULT_EXIT);
  }
  faulted = true;
  process.exitCode = FAULT_EXIT;
  try {
    dataplane?.metrics.requestFault('process');
  } catch {
    // The counter is a courtesy for a last scrape; the exit must not depend on it.
  }
  log.fatal({ kind, err }, 'fault outside any request: draining, then exiting');
  if (dataplane === undefined) process.exit(FAULT_EXIT);
  // A drain that hangs on a broken invariant must not keep the process up.
  setTimeout(() => process.exit(FAULT_EXIT), options.drainDelayMs + options.drainTimeoutMs + 10_000).unref();
  dataplane.drain().then(
    () => process.exit(FAULT_EXIT),
    () => process.exit(FAULT_EXIT),
  );
}
process.on('uncaughtException', (err) => processFault('uncaughtException', err));
process.on('unhandledRejection', (reason) => processFault('unhandledRejection', reason));

try {
  dataplane = await startDataplane(options, { log });
} catch (err) {
  process.stderr.write(`data plane failed to start: ${(err as Error).message}\n`);
  process.exit(1);
}

for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.once(signal, () => {
    dataplane!.drain().then(
      () => process.exit(faulted ? FAULT_EXIT : 0),
      (err) => {
        process.stderr.write(`drain failed: ${(err as Error).message}\n`);
        process.exit(1);
      },
    );
  });
}
