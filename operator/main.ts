// Entry point: `node operator/main.ts [--flag=value ...]` (see docs/operator.md); exit codes,
// signals and the fault policy: runtime/main.ts.

import { runMain } from '../runtime/main.ts';
import { buildOperator } from './app.ts';
import { loadConfig, usage } from './config.ts';

await runMain({
  name: 'sluice operator',
  usage,
  loadConfig,
  build: (config) => {
    const op = buildOperator(config);
    return {
      log: op.log,
      async start() {
        // Probes are answered while the operator waits for its caches and its lease.
        const address = await op.ops.listen({ host: config.opsHost, port: config.opsPort });
        op.log.info(
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
        await op.start();
      },
      stop: () => op.stop(),
    };
  },
  // Stopping releases the lease so a standby takes over at once.
  stopDeadlineMs: () => 10_000,
});
