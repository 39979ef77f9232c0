import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import type { AddressInfo } from 'node:net';
import { UserError } from '../dnnlib/errors.ts';
import { classifierFile, obtainWeights, WEIGHTS_FILES, type WeightsFile } from '../metrics/weights.ts';

// A local server stands in for the weight hosts (no internet here): /good serves BODY,
// /flaky fails twice with 503 before serving BODY, /truncated promises more bytes than it sends.
const BODY = Buffer.from('pretend these are 64 bytes of network weights..................!');
const SHA = crypto.createHash('sha256').update(BODY).digest('hex');
let server: http.Server;
let base = '';
let flakyHits = 0;

before(async () => {
  server = http.createServer((req, res) => {
    if (req.url === '/good') { res.writeHead(200, { 'content-length': BODY.length }); res.end(BODY); return; }
    if (req.url === '/flaky') {
      flakyHits++;
      if (flakyHits <= 2) { res.writeHead(503); res.end(); return; }
      res.writeHead(200, { 'content-length': BODY.length }); res.end(BODY); return;
    }
    if (req.url === '/truncated') { res.writeHead(200, { 'content-length': BODY.length + 10 }); res.end(BODY); return; }
    res.writeHead(404); res.end();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
after(() => { server.close(); });

const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'weights-'));
const spec = (url: string, sha256: string | null): WeightsFile => ({ fileName: 'net.bin', urls: [url], sha256, flag: '--inception', format: 'test' });
const quiet = { log: () => {}, retryDelayMs: () => 1 };

test('downloads into the cache with the sha256 checked, then reuses the cached copy', async () => {
  const dir = tmp();
  const r = await obtainWeights(spec(`${base}/good`, SHA), { cacheDir: dir, ...quiet });
  assert.equal(r.path, path.join(dir, 'net.bin'));
  assert.deepEqual(fs.readFileSync(r.path), BODY);
  assert.equal(r.sha256, SHA);
  assert.equal(r.verified, true);
  // Second call: no server needed (the URL would 404).
  const again = await obtainWeights(spec(`${base}/missing`, SHA.slice(0, 8)), { cacheDir: dir, ...quiet });
  assert.equal(again.path, r.path);
  assert.deepEqual(fs.readdirSync(dir), ['net.bin']);
  fs.rmSync(dir, { recursive: true });
});

test('retries failed attempts (HTTP 503 twice, then success)', async () => {
  const dir = tmp();
  flakyHits = 0;
  const r = await obtainWeights(spec(`${base}/flaky`, SHA), { cacheDir: dir, ...quiet });
  assert.equal(flakyHits, 3);
  assert.equal(r.sha256, SHA);
  fs.rmSync(dir, { recursive: true });
});

test('a sha256 mismatch is a clear UserError and leaves no file behind', async () => {
  const dir = tmp();
  const wrong = '0'.repeat(64);
  await assert.rejects(obtainWeights(spec(`${base}/good`, wrong), { cacheDir: dir, attempts: 2, ...quiet }),
    (e: unknown) => e instanceof UserError && /cannot obtain net\.bin after 2 attempts \(.*sha256 mismatch: got [0-9a-f]{64}, expected 0{64}/.test(e.message) && /--inception FILE/.test(e.message));
  assert.deepEqual(fs.readdirSync(dir), []);
  fs.rmSync(dir, { recursive: true });
});

test('a truncated transfer is rejected and leaves no file behind', async () => {
  const dir = tmp();
  await assert.rejects(obtainWeights(spec(`${base}/truncated`, null), { cacheDir: dir, attempts: 1, ...quiet }), UserError);
  assert.deepEqual(fs.readdirSync(dir), []);
  fs.rmSync(dir, { recursive: true });
});

test('server down: UserError naming the file and the offline flag, after all attempts', async () => {
  const dir = tmp();
  const down = http.createServer();
  await new Promise<void>((r) => down.listen(0, '127.0.0.1', r));
  const port = (down.address() as AddressInfo).port;
  await new Promise<void>((r) => down.close(() => r()));
  let tries = 0;
  const f = { ...WEIGHTS_FILES.torchvision_vgg16, urls: [`http://127.0.0.1:${port}/vgg16-397923af.pth`] };
  await assert.rejects(obtainWeights(f, { cacheDir: dir, attempts: 3, log: () => {}, retryDelayMs: () => { tries++; return 1; } }),
    (e: unknown) => e instanceof UserError && e.message.includes('vgg16-397923af.pth') && e.message.includes('pass --vgg16 FILE') && e.message.includes('after 3 attempts'));
  assert.equal(tries, 2);
  assert.deepEqual(fs.readdirSync(dir), []);
  fs.rmSync(dir, { recursive: true });
});

test('offline flags: a given file is used as is (hash checked); a missing one names the flag', async () => {
  const dir = tmp();
  const f = path.join(dir, 'mine.bin');
  fs.writeFileSync(f, BODY);
  const r = await obtainWeights(spec('http://unused.invalid/x', SHA), { localFile: f, cacheDir: dir });
  assert.equal(r.path, f);
  await assert.rejects(obtainWeights(spec('http://unused.invalid/x', 'ff'), { localFile: f }), /--inception .*mine\.bin: sha256 [0-9a-f]{64} does not match/);
  await assert.rejects(obtainWeights(spec('http://unused.invalid/x', null), { localFile: path.join(dir, 'nope.bin') }), /--inception .*nope\.bin: no such file/);
  fs.rmSync(dir, { recursive: true });
});

test('classifier files follow NVIDIA\'s names and URLs', () => {
  const c = classifierFile(19);
  assert.equal(c.fileName, 'celebahq-classifier-19-eyeglasses.pkl');
  assert.ok(c.urls[0].endsWith('/stylegan/networks/metrics/celebahq-classifier-19-eyeglasses.pkl'));
  assert.equal(c.urls[1], 'https://drive.google.com/uc?id=1RGBuwXbaz5052bM4VFvaSJaqNvVM4_cI');
  assert.throws(() => classifierFile(40), UserError);
});
