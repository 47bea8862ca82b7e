// npm run cluster:up | cluster:down | cluster:status
import { down, kubeconfigPath, pid, server, up } from './lib/devcluster.ts';

const cmd = process.argv[2];
try {
  if (cmd === 'up') {
    const { started } = await up();
    console.log(started ? 'devcluster started' : 'devcluster already running');
    console.log(`kubectl --kubeconfig ${kubeconfigPath} get nodes`);
  } else if (cmd === 'down') {
    await down();
    console.log('devcluster stopped; state removed');
  } else if (cmd === 'status') {
    const p = pid();
    if (p === undefined) {
      console.log('devcluster: not running');
      process.exitCode = 1;
    } else {
      console.log(`devcluster: running (pid ${p}) at ${server}, kubeconfig ${kubeconfigPath}`);
    }
  } else {
    console.error('usage: node hack/cluster.ts up|down|status');
    process.exitCode = 2;
  }
} catch (err) {
  console.error(err instanceof Error ? err.message : err);
  process.exitCode = 1;
}
