import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { formatTime, parseRange } from '../dnnlib/util.ts';
import { createRunDir, nextRunId, RunLog } from '../dnnlib/submission.ts';
import { writeFileAtomic, createAtomicWriteStream, withAtomicGroup } from '../dnnlib/atomic.ts';
import { mergeConfig } from '../dnnlib/config.ts';
import { UserError, errorLine } from '../dnnlib/errors.ts';
import { createProgress } from '../dnnlib/progress.ts';

const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'sgts-dnnlib-'));

test('formatTime follows dnnlib.util.format_time', () => {
  assert.equal(formatTime(5), '5s');
  assert.equal(formatTime(2.5), '2s', 'np.rint rounds half to even');
  assert.equal(formatTime(3.5), '4s');
  assert.equal(formatTime(61), '1m 01s');
  assert.equal(formatTime(3600 + 2 * 60 + 3), '1h 02m 03s');
  assert.equal(formatTime(2 * 86400 + 5 * 3600 + 7 * 60), '2d 05h 07m');
});

test('parseRange expands seed lists and rejects junk', () => {
  assert.deepEqual(parseRange('0-3,7, 9-10'), [0, 1, 2, 3, 7, 9, 10]);
  assert.throws(() => parseRange('1-x'), /cannot parse/);
  assert.throws(() => parseRange('5-2'), /ends before/);
});

test('run directories are numbered like NVIDIA (1 + largest leading integer)', () => {
  const dir = tmp();
  assert.equal(nextRunId(dir), 0);
  const a = createRunDir(dir, 'sgan-ffhq 1gpu');
  assert.equal(path.basename(a), '00000-sgan-ffhq-1gpu');
  fs.mkdirSync(path.join(dir, '00041-other'));
  fs.writeFileSync(path.join(dir, '00099-a-file-not-a-dir'), '');
  const b = createRunDir(dir, 'x');
  assert.equal(path.basename(b), '00042-x');
});

test('RunLog mirrors whole lines into log.txt and drops progress redraws', () => {
  const dir = tmp();
  const log = new RunLog(dir);
  process.stdout.write('hello log\n');
  process.stdout.write('\rbar 50%');
  log.close();
  const text = fs.readFileSync(path.join(dir, 'log.txt'), 'utf8');
  assert.equal(text, 'hello log\n');
});

test('atomic writes leave nothing half-written', async () => {
  const dir = tmp();
  const target = path.join(dir, 'a.bin');
  writeFileAtomic(target, new Uint8Array([1, 2, 3]));
  assert.deepEqual([...fs.readFileSync(target)], [1, 2, 3]);

  const w = createAtomicWriteStream(path.join(dir, 'b.bin'));
  w.write(new Uint8Array([9]));
  assert.equal(fs.existsSync(path.join(dir, 'b.bin')), false, 'not visible before commit');
  w.abort();
  assert.deepEqual(fs.readdirSync(dir), ['a.bin']);

  await assert.rejects(withAtomicGroup((open) => {
    open(path.join(dir, 'c1')).write(new Uint8Array([1]));
    open(path.join(dir, 'c2')).write(new Uint8Array([2]));
    throw new UserError('boom');
  }), /boom/);
  assert.deepEqual(fs.readdirSync(dir), ['a.bin'], 'a failed group removes every temp file');

  await withAtomicGroup((open) => { open(path.join(dir, 'd1')).write(new Uint8Array([1])); });
  assert.deepEqual(fs.readdirSync(dir).sort(), ['a.bin', 'd1']);
});

test('mergeConfig refuses unknown keys instead of ignoring them', () => {
  const d = { resolution: 1024, fmap_max: 512 };
  assert.deepEqual(mergeConfig('G_synthesis', d, { fmap_max: 32 }), { resolution: 1024, fmap_max: 32 });
  assert.throws(() => mergeConfig('G_synthesis', d, { fmap_maxx: 3 }), /unknown keyword 'fmap_maxx'/);
});

test('errorLine gives one line for user and file errors', () => {
  assert.equal(errorLine(new UserError('bad flag')), 'error: bad flag');
  try { fs.readFileSync('/nonexistent/x.png'); } catch (e) {
    assert.equal(errorLine(e), 'error: /nonexistent/x.png: no such file or directory');
  }
});

test('progress writes plain lines when not a TTY', () => {
  const chunks: string[] = [];
  const stream = { isTTY: false, write: (s: string) => { chunks.push(s); return true; } } as unknown as NodeJS.WriteStream;
  const p = createProgress({ total: 4, label: 'Encoding', unit: 'img', stream, interval: 0 });
  p.increment(); p.increment(3); p.stop();
  assert.ok(chunks.length >= 2);
  assert.match(chunks.at(-1)!, /^Encoding: 4\/4 img \(100\.0%\)/);
  assert.ok(chunks.every((c) => !c.includes('\r')));
});
