import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer as createHttp, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createHttps } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type TestContext, test } from 'node:test';
import { generateCa, issueServing } from '../../runtime/pki.ts';
import { DataplaneClient, PushError } from './dataplane-client.ts';
import { TokenFile } from './token.ts';

/** A stand-in config API: remembers the applied version, checks the token. */
function configApi(token: string) {
  let applied: string | undefined;
  const seen: string[] = [];
  const handler = (req: IncomingMessage, res: ServerResponse) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => {
      body += c;
    });
    req.on('end', () => {
      seen.push(`${req.method} ${req.url}`);
      const send = (code: number, value: unknown) => {
        res.writeHead(code, { 'content-type': 'application/json' }).end(JSON.stringify(value));
      };
      if (req.headers.authorization !== `Bearer ${token}`) return send(401, { message: 'bad token' });
      if (req.url !== '/v1/config') return send(404, { message: 'no such path' });
      if (req.method === 'GET')
        return applied ? send(200, { version: applied }) : send(404, { message: 'none' });
      const parsed = JSON.parse(body) as { version?: string; base?: string };
      if (req.method === 'PATCH' && parsed.base !== applied)
        return send(409, { error: 'base mismatch', version: applied ?? null });
      if (!parsed.version?.startsWith('sha256:'))
        return send(400, { message: 'config: does not match the schema' });
      applied = parsed.version;
      return send(200, { version: applied });
    });
  };
  return { handler, seen, applied: () => applied };
}

async function listen(t: TestContext, server: ReturnType<typeof createHttp>): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => {
    server.closeAllConnections();
    return new Promise<void>((resolve) => server.close(() => resolve()));
  });
  return (server.address() as AddressInfo).port;
}

function tokenFile(t: TestContext, token: string): TokenFile {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-token-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, 'token');
  writeFileSync(path, `${token}\n`);
  return new TokenFile(path);
}

test('GET and PUT with the bearer token over plain HTTP', async (t) => {
  const api = configApi('s3cret');
  const port = await listen(t, createHttp(api.handler));
  const token = tokenFile(t, 's3cret');
  const client = new DataplaneClient({ token: () => token.get(), timeoutMs: 5000 });
  t.after(() => client.close());
  const url = `http://127.0.0.1:${port}`;
  assert.equal(await client.appliedVersion(url), undefined);
  await client.put(url, JSON.stringify({ version: 'sha256:abc' }));
  assert.equal(await client.appliedVersion(url), 'sha256:abc');
  await assert.rejects(client.put(url, JSON.stringify({ version: 'nope' })), (err: unknown) => {
    assert.ok(err instanceof PushError);
    assert.equal(err.statusCode, 400);
    assert.match(err.message, /does not match the schema/);
    return true;
  });
  assert.equal(api.applied(), 'sha256:abc');
});

test('PATCH applies to the base version; another base is a 409', async (t) => {
  const api = configApi('s3cret');
  const port = await listen(t, createHttp(api.handler));
  const token = tokenFile(t, 's3cret');
  const client = new DataplaneClient({ token: () => token.get(), timeoutMs: 5000 });
  t.after(() => client.close());
  const url = `http://127.0.0.1:${port}`;
  await client.put(url, JSON.stringify({ version: 'sha256:one' }));
  await client.patch(url, JSON.stringify({ base: 'sha256:one', version: 'sha256:two' }));
  assert.equal(await client.appliedVersion(url), 'sha256:two');
  await assert.rejects(
    client.patch(url, JSON.stringify({ base: 'sha256:one', version: 'sha256:three' })),
    (err: unknown) => {
      assert.ok(err instanceof PushError);
      assert.equal(err.statusCode, 409);
      assert.match(err.message, /PATCH \/v1\/config: HTTP 409: base mismatch/);
      return true;
    },
  );
  assert.deepEqual(api.seen.slice(-3), ['PATCH /v1/config', 'GET /v1/config', 'PATCH /v1/config']);
});

test('a wrong token is an error with the status code', async (t) => {
  const api = configApi('right');
  const port = await listen(t, createHttp(api.handler));
  const token = tokenFile(t, 'wrong');
  const client = new DataplaneClient({ token: () => token.get(), timeoutMs: 5000 });
  t.after(() => client.close());
  await assert.rejects(client.appliedVersion(`http://127.0.0.1:${port}`), (err: unknown) => {
    assert.ok(err instanceof PushError);
    assert.equal(err.statusCode, 401);
    return true;
  });
});

test('HTTPS is verified against the given CA', async (t) => {
  const validity = { notBefore: new Date(Date.now() - 60_000), notAfter: new Date(Date.now() + 3_600_000) };
  const ca = await generateCa('test-ca', validity);
  const serving = await issueServing(ca, { commonName: 'dataplane', names: ['127.0.0.1'] }, validity);
  const api = configApi('tok');
  const port = await listen(t, createHttps({ cert: serving.cert, key: serving.key }, api.handler));
  const token = tokenFile(t, 'tok');
  const url = `https://127.0.0.1:${port}`;
  const trusting = new DataplaneClient({ token: () => token.get(), ca: ca.cert, timeoutMs: 5000 });
  t.after(() => trusting.close());
  await trusting.put(url, JSON.stringify({ version: 'sha256:tls' }));
  assert.equal(await trusting.appliedVersion(url), 'sha256:tls');
  const otherCa = await generateCa('other-ca', validity);
  const distrusting = new DataplaneClient({ token: () => token.get(), ca: otherCa.cert, timeoutMs: 5000 });
  t.after(() => distrusting.close());
  await assert.rejects(distrusting.appliedVersion(url));
});

test('the token file is re-read when it changes and must not be empty', async (t) => {
  const token = tokenFile(t, 'first');
  assert.equal(await token.get(), 'first');
  writeFileSync(token.path, 'second-longer\n');
  assert.equal(await token.get(), 'second-longer');
  writeFileSync(token.path, '   \n');
  await assert.rejects(token.get(), /empty/);
});
