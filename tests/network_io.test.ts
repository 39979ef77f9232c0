// training/network_io.ts: snapshots round-trip through saveNetworkSnapshot/loadNetworks bit for bit,
// NVIDIA pickles load through network_import, URLs are downloaded once into the cache (a local
// 127.0.0.1 server), and every bad file is a one-line UserError.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { useTestBackend } from './_backend.ts';
import { UserError } from '../dnnlib/errors.ts';
import { flattenVariables, loadNetworkPickle } from '../dnnlib/pickle.ts';
import { readSafetensors } from '../dnnlib/safetensors.ts';
import { loadSnapshot, saveSnapshot } from '../training/snapshot.ts';
import { G_style } from '../training/networks_stylegan.ts';
import { loadNetworks, resolveNetworkArg, saveNetworkSnapshot, downloadToCache } from '../training/network_io.ts';
import { buildTinyNetworks, TINY_KWARGS } from './figures_net.ts';

const PKL = path.join(import.meta.dirname, 'fixtures', 'pickles', 'tiny_v1_p4_np1_scalar.pkl');
const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'sgts-netio-'));
const userError = (re: RegExp) => (err: unknown) => {
  assert.ok(err instanceof UserError, `expected a UserError, got ${String(err)}`);
  assert.match(err.message, re);
  assert.ok(!err.message.includes('\n'), 'one line');
  return true;
};

let dir: string;
let snapshot: string;
let nets: ReturnType<typeof buildTinyNetworks>;

before(async () => {
  await useTestBackend();
  dir = tmp();
  nets = buildTinyNetworks(3);
  snapshot = path.join(dir, 'network-snapshot-000123.safetensors');
  saveNetworkSnapshot(snapshot, { ...nets, kimg: 123.25, kwargs: { dataset: 'tiny' }, state: { lod: 0, cur_tick: 7 } });
});

after(() => {
  nets.G.dispose(); nets.D.dispose(); nets.Gs.dispose();
});

test('saveNetworkSnapshot writes G/, D/, Gs/ tensors under NVIDIA names with func_name + kwargs metadata', () => {
  const snap = loadSnapshot(snapshot);
  assert.equal(snap.kimg, 123.25);
  assert.deepEqual(snap.trainingState, { lod: 0, cur_tick: 7 });
  assert.deepEqual(snap.kwargs.G, { func_name: 'G_style', ...TINY_KWARGS });
  assert.equal((snap.kwargs.D as { func_name: string }).func_name, 'D_basic');
  assert.equal(snap.kwargs.dataset, 'tiny');
  for (const key of ['G', 'D', 'Gs'] as const) assert.equal(snap[key].size, nets[key].vars.size, key);
  assert.ok(snap.Gs.has('G_synthesis/4x4/Const/const') && snap.Gs.has('G_mapping/Dense0/weight') && snap.Gs.has('dlatent_avg'));
  assert.deepEqual(snap.Gs.get('G_synthesis/noise0')!.shape, [1, 1, 4, 4]);
  assert.throws(() => saveNetworkSnapshot(path.join(dir, 'x.safetensors'), { ...nets, kimg: 0, kwargs: { G: {} } }), /reserved/);
});

test('loadNetworks rebuilds G, D and Gs from a snapshot: every variable and the Gs output bit-identical', async () => {
  const back = await loadNetworks(snapshot);
  try {
    assert.equal(back.kind, 'snapshot');
    assert.equal(back.kimg, 123.25);
    assert.ok(back.Gs instanceof G_style);
    for (const key of ['G', 'D', 'Gs'] as const) {
      const ours = back[key]!.vars;
      assert.equal(ours.size, nets[key].vars.size);
      for (const [name, v] of nets[key].vars) assert.deepEqual(ours.get(name)!.dataSync(), v.dataSync(), `${key}/${name}`);
    }
    const z = tf.randomNormal([2, 32], 0, 1, 'float32', 5) as tf.Tensor2D;
    const a = nets.Gs.run(z, null, { randomize_noise: false });
    const b = (back.Gs as G_style).run(z, null, { randomize_noise: false });
    assert.deepEqual(b.dataSync(), a.dataSync());
    tf.dispose([z, a, b]);
  } finally {
    back.G?.dispose(); back.D?.dispose(); back.Gs.dispose();
  }
  // A trimmed file with only Gs/ tensors (what models/ may ship) loads too.
  const snap = loadSnapshot(snapshot);
  const trimmed = path.join(tmp(), 'gs-only.safetensors');
  saveSnapshot(trimmed, { G: new Map(), D: new Map(), Gs: snap.Gs, kwargs: { Gs: snap.kwargs.Gs }, kimg: snap.kimg });
  const gsOnly = await loadNetworks(trimmed);
  assert.deepEqual([gsOnly.G, gsOnly.D], [undefined, undefined]);
  assert.deepEqual(gsOnly.Gs.getVar('dlatent_avg').dataSync(), nets.Gs.getVar('dlatent_avg').dataSync());
  gsOnly.Gs.dispose();
  const onlyGs = await loadNetworks(snapshot, { networks: ['Gs'] });
  assert.equal(onlyGs.G, undefined);
  assert.equal(onlyGs.D, undefined);
  onlyGs.Gs.dispose();
});

test('an NVIDIA pickle loads through network_import (kind pkl), values equal to the pickle', async () => {
  const back = await loadNetworks(PKL);
  try {
    assert.equal(back.kind, 'pkl');
    assert.ok(back.G && back.D && back.Gs instanceof G_style);
    assert.equal((back.Gs as G_style).components.synthesis.kw.resolution, 16);
    const v = flattenVariables(loadNetworkPickle(PKL).Gs!).find((x) => x.fullName === 'G_synthesis/4x4/Conv/weight')!;
    assert.deepEqual(back.Gs.getVar(v.fullName).dataSync(), v.data);
  } finally {
    back.G?.dispose(); back.D?.dispose(); back.Gs.dispose();
  }
});

test('missing, corrupt, truncated and mismatched files are one-line UserErrors', async () => {
  const d = tmp();
  await assert.rejects(loadNetworks(path.join(d, 'nope.safetensors')), userError(/nope\.safetensors: no such network file/));
  await assert.rejects(loadNetworks(d), userError(/is a directory/));
  const bytes = fs.readFileSync(snapshot);
  fs.writeFileSync(path.join(d, 'cut.safetensors'), bytes.subarray(0, bytes.length - 100));
  await assert.rejects(loadNetworks(path.join(d, 'cut.safetensors')), userError(/^cut\.safetensors: .*(truncated|beyond)/));
  fs.writeFileSync(path.join(d, 'junk.safetensors'), crypto.randomBytes(4000));
  await assert.rejects(loadNetworks(path.join(d, 'junk.safetensors')), userError(/^junk\.safetensors: /));
  fs.writeFileSync(path.join(d, 'junk.pkl'), Buffer.from('this is not a pickle'));
  await assert.rejects(loadNetworks(path.join(d, 'junk.pkl')), userError(/^junk\.pkl: corrupt or not a network pickle/));
  const pkl = fs.readFileSync(PKL);
  fs.writeFileSync(path.join(d, 'cut.pkl'), pkl.subarray(0, pkl.length >> 1));
  await assert.rejects(loadNetworks(path.join(d, 'cut.pkl')), userError(/^cut\.pkl: corrupt or not a network pickle/));

  // Tensors that do not map onto the network built from the kwargs.
  const snap = loadSnapshot(snapshot);
  const write = (name: string, mutate: (s: typeof snap) => void) => {
    const s = loadSnapshot(snapshot);
    mutate(s);
    const file = path.join(d, name);
    saveSnapshot(file, { G: s.G, D: s.D, Gs: s.Gs, kwargs: s.kwargs, kimg: s.kimg });
    return file;
  };
  const extra = write('extra.safetensors', (s) => s.Gs.set('G_synthesis/bogus', { shape: [1], data: new Float32Array(1) }));
  await assert.rejects(loadNetworks(extra), userError(/Gs tensors do not match .*not in the network: G_synthesis\/bogus/));
  const missing = write('missing.safetensors', (s) => s.Gs.delete('G_mapping/Dense1/bias'));
  await assert.rejects(loadNetworks(missing), userError(/missing from the file: G_mapping\/Dense1\/bias/));
  const shape = write('shape.safetensors', (s) => s.Gs.set('dlatent_avg', { shape: [16], data: new Float32Array(16) }));
  await assert.rejects(loadNetworks(shape), userError(/Gs\/dlatent_avg has shape \[16\], the network expects \[32\]/));
  const func = write('func.safetensors', (s) => { s.kwargs.Gs = { ...(s.kwargs.G as object), func_name: 'training.networks_stylegan2.G_synthesis_stylegan_revised' }; });
  await assert.rejects(loadNetworks(func), userError(/cannot rebuild/));
  const noGs = write('nogs.safetensors', (s) => s.Gs.clear());
  await assert.rejects(loadNetworks(noGs), userError(/no Gs\/ tensors/));
  assert.equal(snap.Gs.size > 0, true);
});

test('resolveNetworkArg: --network as given, else the bundled model, else one line saying how', () => {
  const d = tmp();
  assert.equal(resolveNetworkArg(snapshot), snapshot);
  assert.equal(resolveNetworkArg('https://example.org/x.pkl'), 'https://example.org/x.pkl');
  assert.throws(() => resolveNetworkArg(path.join(d, 'x.pkl')), userError(/x\.pkl: no such network file/));
  assert.equal(resolveNetworkArg(undefined, { STYLEGAN_BUNDLED_MODEL: snapshot }), snapshot);
  assert.throws(() => resolveNetworkArg(undefined, { STYLEGAN_BUNDLED_MODEL: path.join(d, 'stylegan-fmnist-32.safetensors') }),
    userError(/^no bundled model is installed yet \(.*stylegan-fmnist-32\.safetensors does not exist\); pass --network /));
});

test('URLs are downloaded once into the cache (md5(url)_name + sha256 sidecar); failures are one line', async () => {
  const served = new Map<string, Buffer>([['/nets/tiny.pkl', fs.readFileSync(PKL)], ['/nets/snap.safetensors', fs.readFileSync(snapshot)]]);
  const hits: string[] = [];
  const server = http.createServer((req, res) => {
    hits.push(req.url!);
    if (req.url === '/nets/redirect.pkl') { res.writeHead(302, { location: '/nets/tiny.pkl' }); res.end(); return; }
    if (req.url === '/nets/short.pkl') {
      // Promises more bytes than it sends, then hangs up: a truncated download.
      res.writeHead(200, { 'content-length': '5000' });
      res.write(Buffer.alloc(100));
      res.destroy();
      return;
    }
    const body = served.get(req.url!);
    if (!body) { res.writeHead(404); res.end('not found'); return; }
    res.writeHead(200, { 'content-length': String(body.length) });
    res.end(body);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  const cache = tmp();
  try {
    const url = `${base}/nets/tiny.pkl`;
    const first = await loadNetworks(url, { cacheDir: cache, networks: ['Gs'], quiet: true });
    assert.equal(first.kind, 'pkl');
    assert.equal(first.source, url);
    const name = `${crypto.createHash('md5').update(url).digest('hex')}_tiny.pkl`;
    assert.equal(first.file, path.join(cache, name));
    assert.deepEqual(fs.readFileSync(first.file), served.get('/nets/tiny.pkl'));
    const sha = crypto.createHash('sha256').update(served.get('/nets/tiny.pkl')!).digest('hex');
    assert.equal(fs.readFileSync(`${first.file}.sha256`, 'utf8'), `${sha}  ${name}\n`);
    first.Gs.dispose();
    assert.equal(hits.filter((h) => h === '/nets/tiny.pkl').length, 1);

    // Cached: no second request.
    (await loadNetworks(url, { cacheDir: cache, networks: ['Gs'], quiet: true })).Gs.dispose();
    assert.equal(hits.filter((h) => h === '/nets/tiny.pkl').length, 1);
    // A cached file that no longer matches its recorded sha256 is fetched again.
    fs.appendFileSync(first.file, 'x');
    (await loadNetworks(url, { cacheDir: cache, networks: ['Gs'], quiet: true })).Gs.dispose();
    assert.equal(hits.filter((h) => h === '/nets/tiny.pkl').length, 2);
    assert.deepEqual(fs.readFileSync(first.file), served.get('/nets/tiny.pkl'));

    // A snapshot by URL, and a redirect.
    const snap = await loadNetworks(`${base}/nets/snap.safetensors`, { cacheDir: cache, networks: ['Gs'], quiet: true });
    assert.equal(snap.kind, 'snapshot');
    snap.Gs.dispose();
    assert.deepEqual(fs.readFileSync(await downloadToCache(`${base}/nets/redirect.pkl`, cache, { quiet: true })), served.get('/nets/tiny.pkl'));

    await assert.rejects(loadNetworks(`${base}/nets/missing.pkl`, { cacheDir: cache, quiet: true }), userError(/missing\.pkl: download failed \(HTTP 404/));
    const before = fs.readdirSync(cache).length;
    await assert.rejects(downloadToCache(`${base}/nets/short.pkl`, cache, { quiet: true, attempts: 2 }), userError(/short\.pkl: download failed/));
    assert.equal(hits.filter((h) => h === '/nets/short.pkl').length, 2, 'retried');
    assert.equal(fs.readdirSync(cache).length, before, 'no partial file left in the cache');
  } finally {
    await new Promise<void>((r) => server.close(() => r()));
  }
  // Nothing listens any more.
  await assert.rejects(downloadToCache(`${base}/nets/tiny2.pkl`, cache, { quiet: true, attempts: 1 }), userError(/download failed \(ECONNREFUSED\)/));
  // The snapshot header says what it is.
  assert.equal(readSafetensors(snapshot).metadata.format, 'stylegan-ts-snapshot');
});
