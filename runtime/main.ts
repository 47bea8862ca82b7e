// The one entry-point pattern of the three programs: flags, build, start, and a bounded stop.
//
//   --help / -h          usage on stdout, exit 0
//   bad flags            the problems on stderr, exit 2, before anything touches the network
//   start fails          "<name> failed to start: <why>" on stderr, exit 1
//   SIGTERM / SIGINT     graceful stop; exit 0, or 1 when it fails or outlasts its deadline
//   uncaught fault       (a throw or rejection outside every request) fatal log, graceful stop,
//                        exit 70 (EX_SOFTWARE) so the pod restarts; a second fault exits at once
//
// The fault policy is the same for every program: after a broken invariant nothing says the
// process state is sound, yet a graceful stop still lets requests in flight finish and lets the
// operator hand its lease over at once instead of after it expires.

import { FlagError } from '../contract/flags.ts';

/** Exit status after a fault outside every request (EX_SOFTWARE). */
export const FAULT_EXIT = 70;

export interface ProcessLog {
  info(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
  fatal(obj: object, msg: string): void;
}

/** What `build<Component>(config)` returns. */
export interface Program {
  log: ProcessLog;
  start(): Promise<unknown>;
  /** Graceful stop; idempotent. */
  stop(): Promise<void>;
  /** Called once on an uncaught fault, before the stop (e.g. to count it). */
  onFault?(): void;
}

export interface MainOptions<C> {
  /** For messages, e.g. "sluice webhook". */
  name: string;
  usage(): string;
  loadConfig(argv: string[]): C;
  build(config: C): Program;
  /** How long a graceful stop may take before the process exits anyway. */
  stopDeadlineMs(config: C): number;
  argv?: string[];
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

export async function runMain<C>(opts: MainOptions<C>): Promise<void> {
  const argv = opts.argv ?? process.argv.slice(2);
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(opts.usage());
    return;
  }
  let config: C;
  try {
    config = opts.loadConfig(argv);
  } catch (err) {
    process.stderr.write(`${opts.name}: ${err instanceof FlagError ? err.message : message(err)}\n`);
    process.exit(2);
  }

  let program: Program | undefined;
  let stopping: Promise<void> | undefined;
  let faulted = false;
  const deadlineMs = opts.stopDeadlineMs(config);

  // Stops once; the deadline keeps a stuck stop from holding a pod in Terminating.
  const stop = (exitCode: () => number): Promise<void> => {
    stopping ??= (async () => {
      if (program === undefined) process.exit(exitCode());
      setTimeout(() => {
        program?.log.error({ deadlineMs }, 'stop took too long; exiting');
        process.exit(faulted ? FAULT_EXIT : 1);
      }, deadlineMs).unref();
      try {
        await program.stop();
        program.log.info({}, 'stopped');
        process.exit(exitCode());
      } catch (err) {
        program.log.error({ err: message(err) }, 'stop failed');
        process.exit(faulted ? FAULT_EXIT : 1);
      }
    })();
    return stopping;
  };

  const fault = (kind: 'uncaughtException' | 'unhandledRejection', err: unknown): void => {
    if (faulted) {
      program?.log.fatal({ kind, err }, 'second fault while draining: exiting now');
      process.exit(FAULT_EXIT);
    }
    faulted = true;
    process.exitCode = FAULT_EXIT;
    if (program === undefined) {
      process.stderr.write(`${opts.name}: ${kind}: ${message(err)}\n`);
      process.exit(FAULT_EXIT);
    }
    try {
      program.onFault?.();
    } catch {
      // A courtesy for a last scrape; the exit must not depend on it.
    }
    program.log.fatal({ kind, err }, 'fault outside any request: draining, then exiting');
    void stop(() => FAULT_EXIT);
  };
  process.on('uncaughtException', (err) => fault('uncaughtException', err));
  process.on('unhandledRejection', (reason) => fault('unhandledRejection', reason));

  try {
    program = opts.build(config);
  } catch (err) {
    process.stderr.write(`${opts.name} failed to start: ${message(err)}\n`);
    process.exit(1);
  }
  const running = program;
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.on(signal, () => {
      if (stopping) return;
      running.log.info({ signal }, 'shutting down');
      void stop(() => (faulted ? FAULT_EXIT : 0));
    });
  }
  try {
    await running.start();
  } catch (err) {
    if (stopping) return;
    process.stderr.write(`${opts.name} failed to start: ${message(err)}\n`);
    running.log.fatal({ err: message(err) }, 'failed to start');
    // Release what did start (listeners, watches) but do not wait long for it.
    setTimeout(() => process.exit(1), 1000).unref();
    await running.stop().catch(() => undefined);
    process.exit(1);
  }
}
