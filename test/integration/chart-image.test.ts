// The container image, without a container engine: hack/image-tree.ts assembles what the
// Dockerfile's final stage would hold (COPY'd sources, production dependencies from its own
// `npm ci --omit=dev`), and the data plane must start from that tree alone and answer /healthz;
// the operator and webhook must load from it too.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { test } from 'node:test';
import { assembleImageTree, isTestSupportPath, startEntry } from '../../hack/image-tree.ts';

async function freePort(): Promise<number> {
  const srv = createServer();
  srv.listen(0, '127.0.0.1');
  await once(srv, 'listening');
  const { port } = srv.address() as { port: number };
  srv.close();
  await once(srv, 'close');
  return port;
}

async function get(url: string): Promise<number | undefined> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
    await res.arrayBuffer();
    return res.status;
  } catch {
    return undefined;
  }
}

test('the image tree holds production dependencies only and the data plane runs from it', async (t) => {
  const tree = assembleImageTree({ stdio: ['ignore', 'ignore', 'inherit'] });
  t.after(() => tree.remove());

  // What the image holds: the three components, runtime dependencies, no tests or dev tools.
  for (const entry of ['dataplane/main.ts', 'operator/main.ts', 'webhooks/main.ts']) {
    assert.ok(existsSync(join(tree.dir, entry)), `${entry} is in the image`);
  }
  for (const dep of ['fastify', 'undici', '@kubernetes/client-node', 'ajv', 'pino']) {
    assert.ok(existsSync(join(tree.dir, 'node_modules', dep)), `${dep} is installed`);
  }
  for (const dev of ['typescript', '@biomejs', 'fast-check', 'node']) {
    assert.ok(!existsSync(join(tree.dir, 'node_modules', dev)), `dev dependency ${dev} is left out`);
  }
  for (const dir of ['test', 'hack', 'charts', 'docs', 'crds']) {
    assert.ok(!existsSync(join(tree.dir, dir)), `${dir}/ is not in the image`);
  }
  const files = readdirSync(tree.dir, { recursive: true, encoding: 'utf8' }).filter(
    (f) => !f.startsWith('node_modules'),
  );
  assert.deepEqual(files.filter(isTestSupportPath), [], 'no tests, test support or fixtures');

  // The operator's and webhook's whole import graphs load from the tree (static imports resolve
  // before `--help` is handled); they need a cluster to do more.
  for (const entry of ['operator/main.ts', 'webhooks/main.ts']) {
    const help = startEntry(tree, entry, { args: ['--help'], stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    help.stdout?.setEncoding('utf8').on('data', (c: string) => {
      out += c;
    });
    help.stderr?.setEncoding('utf8').on('data', (c: string) => {
      out += c;
    });
    const [code] = (await once(help, 'exit')) as [number | null];
    assert.equal(code, 0, `${entry} --help from the image tree: ${out.slice(-2000)}`);
    assert.match(out, /usage/i);
  }

  // Start the data plane from the tree as the image's ENTRYPOINT would.
  const tokenFile = join(tree.dir, '..', 'config-token');
  writeFileSync(tokenFile, 'image-tree-test-token\n', { mode: 0o600 });
  const ports = {
    http: await freePort(),
    https: await freePort(),
    config: await freePort(),
    ops: await freePort(),
  };
  let stderr = '';
  const child = startEntry(tree, 'dataplane/main.ts', {
    stdio: ['ignore', 'ignore', 'pipe'],
    env: {
      SLUICE_ADDRESS: '127.0.0.1',
      SLUICE_CONFIG_ADDRESS: '127.0.0.1',
      SLUICE_OPS_ADDRESS: '127.0.0.1',
      SLUICE_HTTP_PORT: String(ports.http),
      SLUICE_HTTPS_PORT: String(ports.https),
      SLUICE_CONFIG_PORT: String(ports.config),
      SLUICE_OPS_PORT: String(ports.ops),
      SLUICE_CONFIG_TOKEN_FILE: tokenFile,
      SLUICE_ACCESS_LOG: 'false',
    },
  });
  child.stderr?.setEncoding('utf8').on('data', (c: string) => {
    stderr += c;
  });
  const exited = once(child, 'exit');
  t.after(async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL');
      await exited;
    }
  });

  // Bounded wait for the ops server; the process must not have died meanwhile.
  let health: number | undefined;
  for (let i = 0; i < 100 && health !== 200 && child.exitCode === null; i++) {
    health = await get(`http://127.0.0.1:${ports.ops}/healthz`);
    if (health !== 200) await new Promise((r) => setTimeout(r, 200));
  }
  assert.equal(health, 200, `data plane /healthz from the image tree (stderr: ${stderr.slice(-2000)})`);
  // Not ready before the operator has pushed a first config.
  assert.equal(await get(`http://127.0.0.1:${ports.ops}/readyz`), 503);

  child.kill('SIGTERM');
  const [code, signal] = (await exited) as [number | null, NodeJS.Signals | null];
  assert.ok(code === 0 || signal === 'SIGTERM', `clean exit on SIGTERM (code ${code}, signal ${signal})`);
});
