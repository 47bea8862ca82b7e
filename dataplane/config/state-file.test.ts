import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { test } from 'node:test';
import { KEEP_REJECTED, StateFile } from './state-file.ts';

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

test('setAside renames the file beside itself and keeps only the newest few', async (t) => {
  const dir = tempDir(t);
  const path = join(dir, 'config.json');
  const file = new StateFile(path);
  writeFileSync(join(dir, 'config.json.rejected-notes'), 'not a stamp: left alone');
  const names: string[] = [];
  for (let i = 0; i < KEEP_REJECTED + 2; i++) {
    writeFileSync(path, `{"n":${i}}`);
    // Two in the same second get distinct names.
    names.push(await file.setAside(new Date(Date.UTC(2026, 10, 20, 10, 0, i >> 1))));
    assert.equal(existsSync(path), false);
  }
  assert.equal(names[0], `${path}.rejected-20261120T100000Z`);
  assert.equal(names[1], `${path}.rejected-20261120T100000Z-2`);
  const left = readdirSync(dir).sort();
  assert.deepEqual(
    left.filter((n) => n !== 'config.json.rejected-notes'),
    names
      .slice(-KEEP_REJECTED)
      .map((n) => basename(n))
      .sort(),
  );
  assert.ok(left.includes('config.json.rejected-notes'));
  assert.equal(readFileSync(names.at(-1)!, 'utf8'), `{"n":${KEEP_REJECTED + 1}}`);
});
