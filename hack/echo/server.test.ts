import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type TestContext, test } from 'node:test';
import { build, type EchoOptions, optionsFromEnv } from './server.ts';

interface Answer {
  pod: string;
  namespace: string;
  text: string;
  method: string;
  path: string;
  bodyBytes: number;
  headers: Record<string, string>;
}

const answer = async (res: Response): Promise<Answer> => (await res.json()) as Answer;

async function start(t: TestContext, over: Partial<EchoOptions> = {}) {
  const echo = build({ ...optionsFromEnv({ POD_NAME: 'pod-a', POD_NAMESPACE: 'ns-a' }), ...over });
  await new Promise<void>((resolve) => echo.server.listen(0, '127.0.0.1', resolve));
  t.after(() => {
    echo.server.closeAllConnections();
    echo.server.close();
  });
  const { port } = echo.server.address() as AddressInfo;
  return { ...echo, base: `http://127.0.0.1:${port}`, port };
}

test('answers with JSON naming the pod, the text and the request, credentials redacted', async (t) => {
  const { base } = await start(t, { text: 'v7' });
  const res = await fetch(`${base}/a/b?c=1`, {
    method: 'POST',
    headers: { authorization: 'Bearer secret', 'x-request-id': 'r1' },
    body: 'hello',
  });
  assert.equal(res.status, 200);
  assert.equal(res.headers.get('x-echo-pod'), 'pod-a');
  const body = await answer(res);
  assert.equal(body.pod, 'pod-a');
  assert.equal(body.namespace, 'ns-a');
  assert.equal(body.text, 'v7');
  assert.equal(body.method, 'POST');
  assert.equal(body.path, '/a/b?c=1');
  assert.equal(body.bodyBytes, 5);
  assert.equal(body.headers['x-request-id'], 'r1');
  assert.equal(body.headers.authorization, '<redacted>');
});

test('/status/<code> answers with that code', async (t) => {
  const { base } = await start(t);
  assert.equal((await fetch(`${base}/status/503`)).status, 503);
  assert.equal((await fetch(`${base}/status/204`)).status, 204);
  assert.equal((await fetch(`${base}/status/999`)).status, 200);
});

test('readiness follows ECHO_READY, the not-ready file and draining; /healthz stays up', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'echo-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const flag = join(dir, 'not-ready');
  const { base, drain } = await start(t, { notReadyFile: flag });
  assert.equal((await fetch(`${base}/ready`)).status, 200);
  writeFileSync(flag, '');
  assert.equal((await fetch(`${base}/ready`)).status, 503);
  rmSync(flag);
  assert.equal((await fetch(`${base}/ready`)).status, 200);
  drain();
  assert.equal((await fetch(`${base}/ready`)).status, 503);
  assert.equal((await fetch(`${base}/healthz`)).status, 200);

  const off = await start(t, { ready: false });
  assert.equal((await fetch(`${off.base}/ready`)).status, 503);
});

test('the text can come from a file that changes', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'echo-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'text');
  writeFileSync(file, 'one\n');
  const { base } = await start(t, { textFile: file });
  assert.equal((await answer(await fetch(base))).text, 'one');
  writeFileSync(file, 'two\n');
  assert.equal((await answer(await fetch(base))).text, 'two');
});

test('bad configuration is refused with a clear message', () => {
  assert.throws(() => optionsFromEnv({ ECHO_PORT: 'eighty' }), /ECHO_PORT must be an integer/);
  assert.throws(() => optionsFromEnv({ ECHO_DRAIN_MS: '-1' }), /ECHO_DRAIN_MS/);
  assert.equal(optionsFromEnv({ ECHO_READY: 'false' }).ready, false);
});

test('echoes WebSocket messages', async (t) => {
  const { port } = await start(t);
  const ws = new WebSocket(`ws://127.0.0.1:${port}/ws`);
  t.after(() => ws.close());
  await new Promise<void>((resolve, reject) => {
    ws.addEventListener('open', () => resolve());
    ws.addEventListener('error', () => reject(new Error('websocket error')));
  });
  const got = new Promise<string>((resolve) => {
    ws.addEventListener('message', (e) => resolve(String(e.data)));
  });
  const big = 'x'.repeat(70_000); // needs the 64-bit length form
  ws.send('hello');
  assert.equal(await got, 'hello');
  const gotBig = new Promise<string>((resolve) => {
    ws.addEventListener('message', (e) => resolve(String(e.data)));
  });
  ws.send(big);
  assert.equal((await gotBig).length, big.length);
});
