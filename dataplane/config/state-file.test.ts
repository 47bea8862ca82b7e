import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { StateFile } from './state-file.ts';

function tempDir(t: import('node:test').TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-state-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

test('saves are coalesced: a source superseded before its write starts is never produced', async (t) => {
  const file = new StateFile(join(tempDir(t), 'config.json'));
  const produced: string[] = [];
  const source = (text: string) => () => {
    produced.push(text);
    return [Buffer.from(text.slice(0, 2)), text.slice(2)];
  };
  const saves = [file.save(source('{"v":1}')), file.save(source('{"v":2}'))];
  await Promise.all(saves);
  assert.deepEqual(produced, ['{"v":2}']);
  assert.deepEqual(await file.read(), { v: 2 });

  // While one write runs, only the newest of the waiting sources is written after it.
  const more = [file.save(source('{"v":3}'))];
  await Promise.resolve();
  await Promise.resolve();
  more.push(file.save(source('{"v":4}')), file.save(source('{"v":5}')));
  await Promise.all(more);
  assert.equal(produced.includes('{"v":4}'), false);
  assert.equal(produced.at(-1), '{"v":5}');
  assert.deepEqual(await file.read(), { v: 5 });
});

test('a failed write rejects its waiters; the next save still works; flush waits for the disk', async (t) => {
  const dir = tempDir(t);
  const broken = new StateFile(join(dir, 'missing-dir', 'config.json'));
  await assert.rejects(
    broken.save(() => ['{}']),
    /ENOENT/,
  );
  await broken.flush();

  const file = new StateFile(join(dir, 'config.json'));
  void file.save(() => ['{"v":6}']);
  await file.flush();
  assert.equal(readFileSync(join(dir, 'config.json'), 'utf8'), '{"v":6}');
  assert.equal(await new StateFile(join(dir, 'nothing.json')).read(), undefined);
});
