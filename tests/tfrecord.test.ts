// TFRecord framing, CRC32C and tf.train.Example against records written by the independent
// Python reference (tests/fixtures/make_dataset_fixtures.py: google-crc32c + Google's protobuf).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { crc32c, crc32cJs, maskedCrc32c } from '../dnnlib/crc32c.ts';
import { encodeRecord, readTFRecords, readTFRecordsAsync, TFRecordWriter } from '../dnnlib/tfrecord.ts';
import { decodeImageExample, encodeImageExample } from '../dnnlib/example_proto.ts';
import { UserError } from '../dnnlib/errors.ts';

const FIX = path.join(import.meta.dirname, 'fixtures', 'dataset');
const RGB_R05 = path.join(FIX, 'expected_rgb', 'expected_rgb-r05.tfrecords');
const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'sgts-tfrecord-'));

test('crc32c: standard check values, JS and native agree, incremental', () => {
  assert.equal(crc32c(Buffer.from('123456789')), 0xe3069283);
  assert.equal(crc32cJs(Buffer.from('123456789')), 0xe3069283);
  assert.equal(crc32cJs(new Uint8Array(32)), 0x8a9136aa); // RFC 3720 B.4: 32 bytes of zeros
  assert.equal(crc32cJs(new Uint8Array(32).fill(0xff)), 0x62a8ab43); // 32 bytes of ones
  const buf = new Uint8Array(100_003);
  for (let i = 0; i < buf.length; i++) buf[i] = (i * 2654435761) >>> 24;
  for (const n of [0, 1, 7, 8, 9, 15, 16, 17, 1000, buf.length]) {
    assert.equal(crc32c(buf.subarray(0, n)), crc32cJs(buf.subarray(0, n)), `length ${n}`);
  }
  assert.equal(crc32cJs(buf.subarray(13), crc32cJs(buf.subarray(0, 13))), crc32cJs(buf));
});

test('reader parses the Python-written records; re-framing them gives the same bytes', () => {
  const bytes = fs.readFileSync(RGB_R05);
  const recs = [...readTFRecords(RGB_R05)];
  assert.equal(recs.length, 9);
  const rebuilt = Buffer.concat(recs.map((r) => encodeRecord(r.payload)));
  assert.ok(rebuilt.equals(bytes), 'our framing of the same payloads is byte-identical');
  for (const r of recs) {
    const ex = decodeImageExample(r.payload, 'test');
    assert.deepEqual(ex.shape, [3, 32, 32]);
    assert.ok(Buffer.from(encodeImageExample(ex)).equals(Buffer.from(r.payload)), 'protobuf bytes identical to Google protobuf (deterministic)');
  }
  // Offsets step by 12 + len + 4.
  assert.equal(recs[1]!.offset, 16 + recs[0]!.payload.length);
});

test('writer and reader round-trip across chunk boundaries', () => {
  const dir = tmp();
  const file = path.join(dir, 'x.tfrecords');
  const chunks: Uint8Array[] = [];
  const w = new TFRecordWriter({ write: (c) => chunks.push(c) });
  const payloads = [0, 1, 5, 300, 70_000, 3].map((n) => Uint8Array.from({ length: n }, (_, i) => (i * 7 + n) & 255));
  for (const p of payloads) w.write(p);
  fs.writeFileSync(file, Buffer.concat(chunks));
  for (const chunkBytes of [1, 17, 1 << 20]) {
    const got = [...readTFRecords(file, { chunkBytes })].map((r) => Buffer.from(r.payload));
    assert.deepEqual(got, payloads.map((p) => Buffer.from(p)));
  }
  // masked CRC as TF defines it
  const c = crc32c(Buffer.from('abc'));
  assert.equal(maskedCrc32c(Buffer.from('abc')), ((((c >>> 15) | (c << 17)) >>> 0) + 0xa282ead8) >>> 0);
});

function damaged(mutate: (b: Buffer) => Buffer): string {
  const file = path.join(tmp(), 'bad.tfrecords');
  fs.writeFileSync(file, mutate(Buffer.from(fs.readFileSync(RGB_R05))));
  return file;
}

test('truncated file: UserError naming file and byte offset of the cut record', () => {
  const recLen = 16 + [...readTFRecords(RGB_R05)][0]!.payload.length;
  for (const cut of [recLen * 3 + 5, recLen * 3 + 100, recLen * 9 - 1]) {
    const file = damaged((b) => b.subarray(0, cut));
    const start = Math.floor(cut / recLen) * recLen;
    assert.throws(() => [...readTFRecords(file)], (err: unknown) => {
      assert.ok(err instanceof UserError);
      assert.match(err.message, new RegExp(`^${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: truncated at byte offset ${start} `));
      return true;
    });
  }
});

test('bit flips in payload, length or CRC are caught with the offset', () => {
  const recLen = 16 + [...readTFRecords(RGB_R05)][0]!.payload.length;
  const cases: [number, RegExp][] = [
    [recLen * 4 + 12 + 100, new RegExp(`corrupt record 4 at byte offset ${recLen * 4} \\(data CRC mismatch\\)`)],
    [recLen * 2 + 1, new RegExp(`corrupt record 2 at byte offset ${recLen * 2} \\(length CRC mismatch\\)`)],
    [recLen * 7 + 9, new RegExp(`corrupt record 7 at byte offset ${recLen * 7} \\(length CRC mismatch\\)`)],
    [recLen * 8 - 2, new RegExp(`corrupt record 7 at byte offset ${recLen * 7} \\(data CRC mismatch\\)`)],
  ];
  for (const [pos, re] of cases) {
    const file = damaged((b) => { b[pos] ^= 0x10; return b; });
    assert.throws(() => [...readTFRecords(file)], re);
  }
});

test('decodeImageExample rejects payloads that are not NVIDIA image examples', () => {
  assert.throws(() => decodeImageExample(new Uint8Array([0x0a, 0x05, 1, 2]), 'f.tfrecords record 0'), /f\.tfrecords record 0: not a tf\.train\.Example/);
  assert.throws(() => decodeImageExample(new Uint8Array(0), 'f record 3'), /f record 3: record lacks NVIDIA's 'shape'/);
  const ex = encodeImageExample({ shape: [1, 4, 4], data: new Uint8Array(16) });
  assert.deepEqual(decodeImageExample(ex, 'x').shape, [1, 4, 4]);
  assert.throws(() => readTFRecords(path.join(tmp(), 'missing.tfrecords')).next(), /missing\.tfrecords: no such file/);
});

test('async reader with read-ahead yields the same records and the same errors', async () => {
  const sync = [...readTFRecords(RGB_R05)];
  for (const chunkBytes of [1, 5000, 1 << 20]) {
    const got: Buffer[] = [];
    for await (const r of readTFRecordsAsync(RGB_R05, { chunkBytes })) got.push(Buffer.from(r.payload));
    assert.deepEqual(got, sync.map((r) => Buffer.from(r.payload)));
  }
  const recLen = 16 + sync[0]!.payload.length;
  const cut = damaged((b) => b.subarray(0, recLen * 5 + 20));
  await assert.rejects(async () => { for await (const _ of readTFRecordsAsync(cut)) { /* drain */ } },
    new RegExp(`truncated at byte offset ${recLen * 5} `));
  const flipped = damaged((b) => { b[recLen * 3 + 40] ^= 4; return b; });
  await assert.rejects(async () => { for await (const _ of readTFRecordsAsync(flipped)) { /* drain */ } },
    new RegExp(`corrupt record 3 at byte offset ${recLen * 3} \\(data CRC mismatch\\)`));
});
