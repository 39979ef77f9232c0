// CRC32C (Castagnoli), the checksum of TFRecord framing.
//
// The fast path is @node-rs/crc32's native SSE4.2/NEON code (prebuilt binaries shipped inside
// npm packages); where no binary exists for the platform we fall back to a table-driven
// slicing-by-8 implementation in plain JS. The JS version is also the reference the tests
// compare the native one against, so both stay exported.

import { createRequire } from 'node:module';

const POLY = 0x82f63b78; // reflected Castagnoli polynomial

// TABLES[k][b]: CRC of byte b followed by k zero bytes; lets the loop consume 8 bytes per step.
const TABLES: Uint32Array[] = (() => {
  const t: Uint32Array[] = [];
  for (let k = 0; k < 8; k++) t.push(new Uint32Array(256));
  for (let b = 0; b < 256; b++) {
    let c = b;
    for (let i = 0; i < 8; i++) c = c & 1 ? (c >>> 1) ^ POLY : c >>> 1;
    t[0]![b] = c >>> 0;
  }
  for (let b = 0; b < 256; b++) {
    let c = t[0]![b]!;
    for (let k = 1; k < 8; k++) {
      c = (c >>> 8) ^ t[0]![c & 0xff]!;
      t[k]![b] = c >>> 0;
    }
  }
  return t;
})();

/** CRC32C of `data` in plain JS (slicing-by-8); `crc` continues a previous value. */
export function crc32cJs(data: Uint8Array, crc = 0): number {
  const [t0, t1, t2, t3, t4, t5, t6, t7] = TABLES as [Uint32Array, Uint32Array, Uint32Array, Uint32Array, Uint32Array, Uint32Array, Uint32Array, Uint32Array];
  let c = ~crc >>> 0;
  let i = 0;
  const n = data.length;
  const end8 = n - (n % 8);
  for (; i < end8; i += 8) {
    const lo = (data[i]! | (data[i + 1]! << 8) | (data[i + 2]! << 16) | (data[i + 3]! << 24)) ^ c;
    c = t7[lo & 0xff]! ^ t6[(lo >>> 8) & 0xff]! ^ t5[(lo >>> 16) & 0xff]! ^ t4[lo >>> 24]! ^
      t3[data[i + 4]!]! ^ t2[data[i + 5]!]! ^ t1[data[i + 6]!]! ^ t0[data[i + 7]!]!;
  }
  for (; i < n; i++) c = t0[(c ^ data[i]!) & 0xff]! ^ (c >>> 8);
  return ~c >>> 0;
}

type NativeCrc = (input: Uint8Array, initial?: number) => number;

function loadNative(): NativeCrc | null {
  if (process.env.STYLEGAN_CRC32C === 'js') return null;
  try {
    const require = createRequire(import.meta.url);
    const mod = require('@node-rs/crc32') as { crc32c: (input: Buffer, initial?: number) => number };
    // Self-test with the standard check value so a broken binary can never corrupt records.
    if (mod.crc32c(Buffer.from('123456789')) !== 0xe3069283) return null;
    return (input, initial = 0) =>
      mod.crc32c(Buffer.from(input.buffer, input.byteOffset, input.byteLength), initial) >>> 0;
  } catch {
    return null;
  }
}

const native = loadNative();

/** Which implementation `crc32c` uses: 'native' or 'js'. */
export const crc32cImpl: 'native' | 'js' = native ? 'native' : 'js';

/** CRC32C of `data` (native when available). */
export function crc32c(data: Uint8Array, crc = 0): number {
  return native ? native(data, crc) : crc32cJs(data, crc);
}

/** TFRecord's masked CRC: rotate right by 15 and add a constant, so CRCs of CRCs stay distinct. */
export function maskedCrc32c(data: Uint8Array): number {
  const c = crc32c(data);
  return ((((c >>> 15) | (c << 17)) >>> 0) + 0xa282ead8) >>> 0;
}
