// Entry point of the data plane. Flags and environment: docs/dataplane.md.
import { FlagError } from './flags.ts';
import { parseOptions, usage } from './options.ts';
import { startDataplane } from './start.ts';

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

let dataplane: Awaited<ReturnType<typeof startDataplane>>;
try {
  dataplane = await startDataplane(options);
} catch (err) {
  process.stderr.write(`data plane failed to start: ${(err as Error).message}\n`);
  process.exit(1);
}

for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.once(signal, () => {
    dataplane.drain().then(
      () => process.exit(0),
      (err) => {
        process.stderr.write(`drain failed: ${(err as Error).message}\n`);
        process.exit(1);
      },
    );
  });
}
