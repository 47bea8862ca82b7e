// The README's first quick-start command: the demo installs Sluice from its chart, serves the
// 90/10 split and follows a rollout to 0/100. Run in its check mode, against the test cluster.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { test } from 'node:test';
import { root } from '../../hack/lib/devcluster.ts';
import { cluster } from '../support/cluster.ts';

test('npm run demo: the split is served and a rollout moves it', async () => {
  await cluster();
  const child = spawn(process.execPath, ['hack/demo.ts', '--once'], {
    cwd: root,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (c: string) => {
    out += c;
  });
  child.stderr.setEncoding('utf8').on('data', (c: string) => {
    out += c;
  });
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  assert.equal(code, 0, out);
  assert.match(out, /^90\/10: v1 +#+ +(8[5-9]|9[0-5])%/m);
  assert.match(out, /^0\/100: v2 +#+ 100%/m);
  assert.match(out, /demo check passed/);
});
