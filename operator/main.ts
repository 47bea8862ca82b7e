// Entry point: `node operator/main.ts [--flag=value ...]` (see docs/operator.md).

import { FlagError } from '../contract/flags.ts';
import { buildOperator } from './app.ts';
import { loadConfig, usage } from './config.ts';

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(usage());
    return;
  }
  let config: ReturnType<typeof loadConfig>;
  try {
    config = loadConfig(argv);
  } catch (err) {
    if (err instanceof FlagError) {
      process.stderr.write(`sluice operator: ${err.message}\n`);
      process.exitCode = 2;
      return;
    }
    throw err;
  }

  const op = buildOperator(config);
  const { log } = op;
  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'shutting down');
    // A stuck shutdown must not keep a pod Terminating for its whole grace period.
    const force = setTimeout(() => {
      log.error('shutdown took too long; exiting');
      process.exit(1);
    }, 10_000);
    force.unref();
    op.stop().then(
      () => {
        log.info('stopped');
        process.exitCode = 0;
      },
      (err: unknown) => {
        log.error({ err: err instanceof Error ? err.message : String(err) }, 'shutdown failed');
        process.exitCode = 1;
      },
    );
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));

  const address = await op.ops.listen({ host: config.opsHost, port: config.opsPort });
  log.info(
    {
      ops: address,
      identity: config.identity,
      dataplane: config.dataplaneEndpoints
        ? config.dataplaneEndpoints.map((r) => r.id)
        : `${config.dataplaneNamespace}/${config.dataplaneService}`,
      leaderElect: config.leaderElect,
    },
    'operator starting',
  );
  op.start().catch((err: unknown) => {
    if (stopping) return;
    log.fatal({ err: err instanceof Error ? err.message : String(err) }, 'operator failed to start');
    process.exit(1);
  });
}

main().catch((err: unknown) => {
  process.stderr.write(`sluice operator: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
