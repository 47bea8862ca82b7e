// Entry point of the admission webhook process. Flags and environment: docs/webhook.md.
import { FlagError } from '../contract/flags.ts';
import { parseConfig, usage } from './config.ts';
import { start } from './start.ts';

if (process.argv.includes('--help') || process.argv.includes('-h')) {
  process.stdout.write(usage());
  process.exit(0);
}

let config: ReturnType<typeof parseConfig>;
try {
  config = parseConfig(process.argv.slice(2));
} catch (err) {
  process.stderr.write(`${err instanceof FlagError ? err.message : String(err)}\n`);
  process.exit(2);
}

let webhook: Awaited<ReturnType<typeof start>>;
try {
  webhook = await start(config);
} catch (err) {
  process.stderr.write(
    `sluice webhook failed to start: ${err instanceof Error ? err.message : String(err)}\n`,
  );
  process.exit(1);
}

let closing = false;
for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.on(signal, () => {
    if (closing) return;
    closing = true;
    webhook.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  });
}
