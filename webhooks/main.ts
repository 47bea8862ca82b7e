// Entry point of the admission webhook process. Flags and environment: docs/webhook.md; exit
// codes, signals and the fault policy: runtime/main.ts.
import { runMain } from '../runtime/main.ts';
import { loadConfig, usage } from './config.ts';
import { buildWebhook } from './start.ts';

await runMain({
  name: 'sluice webhook',
  usage,
  loadConfig,
  build: (config) => buildWebhook(config),
  // Admission reviews are short (the API server gives up after --timeout-seconds, at most 30s).
  stopDeadlineMs: () => 10_000,
});
