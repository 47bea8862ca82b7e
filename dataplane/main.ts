// Entry point of the data plane. Flags and environment: docs/dataplane.md; exit codes, signals
// and the fault policy: runtime/main.ts.
//
// Faults inside a request are contained where Node or undici calls into the traffic path
// (proxy/contain.ts). A throw that reaches the process handlers came from outside every request:
// the data plane stops taking traffic, lets requests in flight finish within the drain timeout,
// and exits 70 so the pod restarts.
import { runMain } from '../runtime/main.ts';
import { loadConfig, usage } from './options.ts';
import { buildDataplane } from './start.ts';

await runMain({
  name: 'sluice data plane',
  usage,
  loadConfig,
  build: (config) => buildDataplane(config),
  // drain() bounds itself; the margin covers closing the listeners after it.
  stopDeadlineMs: (config) => config.drainDelayMs + config.drainTimeoutMs + 10_000,
});
