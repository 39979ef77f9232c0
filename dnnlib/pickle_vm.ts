// A safe Python pickle interpreter: it runs the opcode stream of protocols 0–5 on a plain stack,
// but every global a pickle names must be on the caller's allow-list, and each allowed global is a
// small TypeScript handler that builds data. Nothing from the file is ever executed. Each pickle is
// run twice: first a scan in which allowed globals yield inert placeholders, so that a refused global
// or opcode (or truncation, bad memo index, MARK imbalance) anywhere in the file is reported before
// any handler has run or any array was copied; then the real run.
//
// We do not use the `pickleparser` npm package: its default resolver turns unknown globals into
// placeholder objects, a missing memo index silently yields `undefined`, MARK underflow surfaces as a
// TypeError, py2 strings are decoded as windows-1252 instead of latin-1, LONG1 is read unsigned, and
// its errors carry no byte offset. Each of those matters for untrusted files.

import { UserError } from './errors.ts';

/** Context given to global handlers so their complaints name the file and the byte offset. */
export interface PickleContext {
  fail(message: string): never;
}

/** What an allow-listed global may do: be called (REDUCE) and/or be instantiated (NEWOBJ). */
export interface GlobalImpl {
  call?: (args: unknown[], ctx: PickleContext) => unknown;
  construct?: (args: unknown[], ctx: PickleContext) => unknown;
}

export interface ParseOptions {
  /** 'module.name' → handler. Everything else is refused. */
  allowGlobals: Readonly<Record<string, GlobalImpl>>;
  /** Shown in every error; usually the file's base name. */
  fileName?: string;
  /** Appended to a refused-global message, e.g. "only NVIDIA network pickles are accepted". */
  refusalNote?: string;
  /** Extra hint for specific refused globals (e.g. a native stylegan2-ada-pytorch pickle). */
  refusalHint?: (qualname: string) => string | undefined;
  /** Consulted for names missing from allowGlobals (e.g. TorchScript's `__torch__.*` data classes). */
  globalFallback?: (qualname: string) => GlobalImpl | undefined;
  /** Resolves PERSID/BINPERSID (torch files). Without it persistent ids are refused. */
  persistentLoad?: (pid: unknown, ctx: PickleContext) => unknown;
}

/** Objects that accept BUILD implement this (Python's __setstate__). */
export const SETSTATE = Symbol('pickle.setstate');
export interface Buildable {
  [SETSTATE](state: unknown, ctx: PickleContext): void;
}

/** A resolved allow-listed global sitting on the stack. */
export class PyGlobal {
  constructor(readonly qualname: string, readonly impl: GlobalImpl) {}
}

/** Python dicts become Maps (keys may be ints); subclasses with attributes use this. */
export class PyDict extends Map<unknown, unknown> implements Buildable {
  attrs: Map<unknown, unknown> | null = null;
  [SETSTATE](state: unknown, ctx: PickleContext): void {
    if (state === null) return;
    if (!(state instanceof Map)) ctx.fail('unexpected state for a dict subclass');
    this.attrs = state;
  }
}

/**
 * dict subclasses called as cls(), cls(items) or cls(mapping): Python 2's OrderedDict.__reduce__
 * passes its items as a list of [key, value] pairs (old torch files carry that).
 */
export function pyDictFrom(args: unknown[], ctx: PickleContext): PyDict {
  const d = new PyDict();
  if (args.length === 0) return d;
  const [src] = args;
  if (args.length > 1) ctx.fail('dict subclass called with more than one argument');
  if (src instanceof Map) {
    for (const [k, v] of src) d.set(k, v);
  } else if (Array.isArray(src)) {
    for (const pair of src) {
      if (!Array.isArray(pair) || pair.length !== 2) ctx.fail('dict items are not (key, value) pairs');
      d.set(pair[0], pair[1]);
    }
  } else ctx.fail('dict subclass called with an unsupported argument');
  return d;
}

function isBuildable(x: unknown): x is Buildable {
  return typeof x === 'object' && x !== null && typeof (x as Partial<Buildable>)[SETSTATE] === 'function';
}

/** Parses one pickle from the start of `bytes`; see parsePickleAt. */
export function parsePickle(bytes: Uint8Array, options: ParseOptions): unknown {
  const { value, end } = parsePickleAt(bytes, 0, options);
  if (end !== bytes.length) {
    throw new UserError(`${options.fileName ?? 'pickle'}: ${bytes.length - end} stray bytes after STOP at byte ${end}`);
  }
  return value;
}

/**
 * Runs the pickle starting at `offset` up to its STOP and returns the value and the offset after
 * STOP (torch's legacy format concatenates several pickles). Bytes objects are views of `bytes`.
 */
export function parsePickleAt(bytes: Uint8Array, offset: number, options: ParseOptions): { value: unknown; end: number } {
  new Machine(bytes, offset, options, true).run();
  return new Machine(bytes, offset, options, false).run();
}

/** What an allowed global produces during the scan pass (nothing is called then). */
class Inert {}

const UTF8 = new TextDecoder('utf-8', { fatal: false });

function latin1(b: Uint8Array): string {
  // Buffer's 'latin1' is true ISO-8859-1 (byte n → U+00nn), which is what Python's encoding='latin1' means.
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('latin1');
}

class Machine implements PickleContext {
  private readonly view: DataView;
  private pos: number;
  private opPos = 0;
  private stack: unknown[] = [];
  private marks: number[] = [];
  private memo = new Map<number, unknown>();
  private readonly file: string;

  constructor(private readonly bytes: Uint8Array, offset: number, private readonly opt: ParseOptions, private readonly scan: boolean) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.pos = offset;
    this.file = opt.fileName ?? 'pickle';
  }

  fail(message: string): never {
    throw new UserError(`${this.file}: ${message} at byte ${this.opPos}`);
  }

  // ---- reading the byte stream (every length is checked against the end of the file) ----
  private need(n: number, what: string): void {
    if (n < 0 || !Number.isSafeInteger(n) || this.pos + n > this.bytes.length) {
      this.fail(`truncated file: ${what} needs ${n} bytes but only ${this.bytes.length - this.pos} remain`);
    }
  }
  private u8(): number { this.need(1, 'argument'); return this.bytes[this.pos++]!; }
  private u16(): number { this.need(2, 'argument'); const v = this.view.getUint16(this.pos, true); this.pos += 2; return v; }
  private i32(): number { this.need(4, 'argument'); const v = this.view.getInt32(this.pos, true); this.pos += 4; return v; }
  private u32(): number { this.need(4, 'argument'); const v = this.view.getUint32(this.pos, true); this.pos += 4; return v; }
  private u64(): number {
    this.need(8, 'argument');
    const lo = this.view.getUint32(this.pos, true), hi = this.view.getUint32(this.pos + 4, true);
    this.pos += 8;
    if (hi >= 0x200000) this.fail('64-bit length too large');
    return hi * 2 ** 32 + lo;
  }
  private take(n: number, what: string): Uint8Array {
    this.need(n, what);
    const out = this.bytes.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }
  private line(): string {
    const nl = this.bytes.indexOf(0x0a, this.pos);
    if (nl < 0) this.fail('truncated file: text argument without newline');
    const s = latin1(this.bytes.subarray(this.pos, nl));
    this.pos = nl + 1;
    return s;
  }

  // ---- the stack, with MARK boundaries enforced ----
  private base(): number { return this.marks.length ? this.marks[this.marks.length - 1]! : 0; }
  private pop(): unknown {
    if (this.stack.length <= this.base()) this.fail('stack underflow (corrupt pickle or MARK imbalance)');
    return this.stack.pop();
  }
  private top(): unknown {
    if (this.stack.length <= this.base()) this.fail('stack underflow (corrupt pickle or MARK imbalance)');
    return this.stack[this.stack.length - 1];
  }
  private popMark(): unknown[] {
    const m = this.marks.pop();
    if (m === undefined) this.fail('no MARK on the stack (MARK imbalance)');
    return this.stack.splice(m);
  }
  private memoGet(i: number): unknown {
    if (!this.memo.has(i)) this.fail(`memo index ${i} was never set`);
    return this.memo.get(i);
  }

  private resolve(module: string, name: string): PyGlobal {
    const qualname = `${module}.${name}`;
    const impl = Object.hasOwn(this.opt.allowGlobals, qualname) ? this.opt.allowGlobals[qualname] : this.opt.globalFallback?.(qualname);
    if (!impl) {
      const hint = this.opt.refusalHint?.(qualname);
      const note = this.opt.refusalNote ?? 'only allow-listed globals are accepted';
      throw new UserError(`${this.file}: refused global '${qualname}' at byte ${this.opPos} — ${hint ?? note}`);
    }
    return new PyGlobal(qualname, impl);
  }

  private callable(x: unknown, how: 'call' | 'construct'): NonNullable<GlobalImpl['call']> {
    if (!(x instanceof PyGlobal)) this.fail(`${how === 'call' ? 'REDUCE' : 'NEWOBJ'} on something that is not an allowed global`);
    const fn = x.impl[how];
    if (!fn) this.fail(`'${x.qualname}' may not be ${how === 'call' ? 'called' : 'instantiated'}`);
    return fn;
  }

  private int(text: string): number | bigint {
    const t = text.endsWith('L') ? text.slice(0, -1) : text;
    if (!/^[-+]?\d+$/.test(t)) this.fail(`bad integer literal '${text.slice(0, 40)}'`);
    const b = BigInt(t);
    return b >= BigInt(Number.MIN_SAFE_INTEGER) && b <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(b) : b;
  }

  /** LONG1/LONG4: little-endian two's complement of any length. */
  private long(b: Uint8Array): number | bigint {
    if (b.length === 0) return 0;
    let v = 0n;
    for (let i = b.length - 1; i >= 0; i--) v = (v << 8n) | BigInt(b[i]!);
    if (b[b.length - 1]! & 0x80) v -= 1n << BigInt(8 * b.length);
    return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
  }

  run(): { value: unknown; end: number } {
    const s = this.stack;
    for (;;) {
      this.opPos = this.pos;
      if (this.pos >= this.bytes.length) this.fail('truncated file: no STOP opcode');
      const op = this.bytes[this.pos++]!;
      switch (op) {
        case 0x80: { // PROTO
          const v = this.u8();
          if (v > 5) this.fail(`unsupported pickle protocol ${v}`);
          break;
        }
        case 0x95: { // FRAME: a read-ahead hint only, but its length must fit the file
          const n = this.u64();
          if (this.pos + n > this.bytes.length) this.fail('truncated file: FRAME longer than the file');
          break;
        }
        case 0x2e: { // STOP
          if (this.marks.length) this.fail('MARK without matching close at STOP (MARK imbalance)');
          if (s.length !== 1) this.fail(`stack holds ${s.length} items at STOP, expected 1`);
          return { value: s[0], end: this.pos };
        }
        case 0x28: this.marks.push(s.length); break; // MARK
        case 0x30: this.pop(); break; // POP
        case 0x31: this.popMark(); break; // POP_MARK
        case 0x32: s.push(this.top()); break; // DUP

        // memo
        case 0x70: { const i = this.int(this.line()); this.memo.set(Number(i), this.top()); break; } // PUT
        case 0x71: { const i = this.u8(); this.memo.set(i, this.top()); break; } // BINPUT
        case 0x72: { const i = this.u32(); this.memo.set(i, this.top()); break; } // LONG_BINPUT
        case 0x94: this.memo.set(this.memo.size, this.top()); break; // MEMOIZE
        case 0x67: s.push(this.memoGet(Number(this.int(this.line())))); break; // GET
        case 0x68: s.push(this.memoGet(this.u8())); break; // BINGET
        case 0x6a: s.push(this.memoGet(this.u32())); break; // LONG_BINGET

        // constants and numbers
        case 0x4e: s.push(null); break; // NONE
        case 0x88: s.push(true); break; // NEWTRUE
        case 0x89: s.push(false); break; // NEWFALSE
        case 0x49: { // INT (protocol 0; '01'/'00' are the old bool spellings)
          const t = this.line();
          s.push(t === '01' ? true : t === '00' ? false : this.int(t));
          break;
        }
        case 0x4c: s.push(this.int(this.line())); break; // LONG
        case 0x46: { // FLOAT (repr text, may be inf/nan)
          const t = this.line().trim();
          const v = t === 'inf' ? Infinity : t === '-inf' ? -Infinity : t === 'nan' ? NaN : Number(t);
          if (Number.isNaN(v) && t !== 'nan') this.fail(`bad float literal '${t.slice(0, 40)}'`);
          s.push(v);
          break;
        }
        case 0x4a: s.push(this.i32()); break; // BININT
        case 0x4b: s.push(this.u8()); break; // BININT1
        case 0x4d: s.push(this.u16()); break; // BININT2
        case 0x8a: s.push(this.long(this.take(this.u8(), 'LONG1'))); break; // LONG1
        case 0x8b: { // LONG4
          const n = this.i32();
          if (n < 0) this.fail('negative LONG4 length');
          s.push(this.long(this.take(n, 'LONG4')));
          break;
        }
        case 0x47: { this.need(8, 'BINFLOAT'); s.push(this.view.getFloat64(this.pos, false)); this.pos += 8; break; } // BINFLOAT

        // strings and bytes
        case 0x53: s.push(this.pyStringLiteral(this.line())); break; // STRING
        case 0x54: { // BINSTRING (py2 str → latin-1, as NVIDIA's encoding='latin1')
          const n = this.i32();
          if (n < 0) this.fail('negative BINSTRING length');
          s.push(latin1(this.take(n, 'BINSTRING')));
          break;
        }
        case 0x55: s.push(latin1(this.take(this.u8(), 'SHORT_BINSTRING'))); break;
        case 0x56: s.push(rawUnicodeEscape(this.line())); break; // UNICODE
        case 0x58: s.push(UTF8.decode(this.take(this.u32(), 'BINUNICODE'))); break;
        case 0x8c: s.push(UTF8.decode(this.take(this.u8(), 'SHORT_BINUNICODE'))); break;
        case 0x8d: s.push(UTF8.decode(this.take(this.u64(), 'BINUNICODE8'))); break;
        case 0x42: s.push(this.take(this.u32(), 'BINBYTES')); break;
        case 0x43: s.push(this.take(this.u8(), 'SHORT_BINBYTES')); break;
        case 0x8e: s.push(this.take(this.u64(), 'BINBYTES8')); break;
        case 0x96: s.push(this.take(this.u64(), 'BYTEARRAY8')); break;
        case 0x97: this.fail('out-of-band buffer (NEXT_BUFFER) refused: not found in files');
        case 0x98: this.top(); break; // READONLY_BUFFER: a no-op for our views

        // containers
        case 0x29: s.push([]); break; // EMPTY_TUPLE
        case 0x74: s.push(this.popMark()); break; // TUPLE
        case 0x85: { const a = this.pop(); s.push([a]); break; } // TUPLE1
        case 0x86: { const b = this.pop(), a = this.pop(); s.push([a, b]); break; } // TUPLE2
        case 0x87: { const c = this.pop(), b = this.pop(), a = this.pop(); s.push([a, b, c]); break; } // TUPLE3
        case 0x5d: s.push([]); break; // EMPTY_LIST
        case 0x6c: s.push(this.popMark()); break; // LIST
        case 0x61: { const v = this.pop(); this.list(this.top()).push(v); break; } // APPEND
        case 0x65: { // APPENDS
          const items = this.popMark();
          const list = this.list(this.top());
          for (const v of items) list.push(v); // not push(...items): batches may be large
          break;
        }
        case 0x7d: s.push(new Map()); break; // EMPTY_DICT
        case 0x64: { // DICT
          const items = this.popMark();
          if (items.length % 2) this.fail('odd number of items for DICT');
          const d = new Map();
          for (let i = 0; i < items.length; i += 2) d.set(items[i], items[i + 1]);
          s.push(d);
          break;
        }
        case 0x73: { const v = this.pop(), k = this.pop(); this.dict(this.top()).set(k, v); break; } // SETITEM
        case 0x75: { // SETITEMS
          const items = this.popMark();
          if (items.length % 2) this.fail('odd number of items for SETITEMS');
          const d = this.dict(this.top());
          for (let i = 0; i < items.length; i += 2) d.set(items[i], items[i + 1]);
          break;
        }
        case 0x8f: s.push(new Set()); break; // EMPTY_SET
        case 0x90: { // ADDITEMS
          const items = this.popMark();
          const set = this.top();
          if (this.scan && set instanceof Inert) break;
          if (!(set instanceof Set)) this.fail('ADDITEMS on something that is not a set');
          for (const v of items) set.add(v);
          break;
        }
        case 0x91: s.push(new Set(this.popMark())); break; // FROZENSET

        // globals and objects: the only ways a pickle can reach code, all via the allow-list
        case 0x63: { const mod = this.line(); const name = this.line(); s.push(this.resolve(mod, name)); break; } // GLOBAL
        case 0x93: { // STACK_GLOBAL
          const name = this.pop(), mod = this.pop();
          if (typeof mod !== 'string' || typeof name !== 'string') this.fail('STACK_GLOBAL with non-string module/name');
          s.push(this.resolve(mod, name));
          break;
        }
        case 0x52: { // REDUCE
          const args = this.pop(), fn = this.pop();
          const call = this.callable(fn, 'call');
          if (!this.isTuple(args)) this.fail('REDUCE arguments are not a tuple');
          s.push(this.scan ? new Inert() : call(args as unknown[], this));
          break;
        }
        case 0x81: { // NEWOBJ
          const args = this.pop(), cls = this.pop();
          const construct = this.callable(cls, 'construct');
          if (!this.isTuple(args)) this.fail('NEWOBJ arguments are not a tuple');
          s.push(this.scan ? new Inert() : construct(args as unknown[], this));
          break;
        }
        case 0x92: { // NEWOBJ_EX
          const kwargs = this.pop(), args = this.pop(), cls = this.pop();
          const construct = this.callable(cls, 'construct');
          if (!this.isTuple(args) || !(kwargs instanceof Map) || kwargs.size) this.fail('NEWOBJ_EX with keyword arguments refused');
          s.push(this.scan ? new Inert() : construct(args as unknown[], this));
          break;
        }
        case 0x62: { // BUILD
          const state = this.pop();
          const obj = this.top();
          if (this.scan && obj instanceof Inert) break;
          if (!isBuildable(obj)) this.fail('BUILD on an object that takes no state');
          if (!this.scan) obj[SETSTATE](state, this);
          break;
        }
        case 0x69: { // INST: old-style instantiation; no legitimate network file uses it
          const mod = this.line(); const name = this.line();
          this.fail(`refused INST opcode for '${mod}.${name}'`);
        }
        case 0x6f: this.fail('refused OBJ opcode');
        case 0x82: case 0x83: case 0x84: this.fail('refused EXT opcode (copyreg extension registry)');
        case 0x50: { // PERSID
          const pid = this.line();
          s.push(this.persistent(pid));
          break;
        }
        case 0x51: s.push(this.persistent(this.pop())); break; // BINPERSID
        default:
          this.fail(`unknown opcode 0x${op.toString(16).padStart(2, '0')}`);
      }
    }
  }

  private persistent(pid: unknown): unknown {
    if (!this.opt.persistentLoad) this.fail('refused persistent id (PERSID/BINPERSID): not allowed in this file');
    return this.scan ? new Inert() : this.opt.persistentLoad(pid, this);
  }
  // During the scan, what a handler would have returned is unknown, so it passes as any container.
  private isTuple(x: unknown): boolean {
    return Array.isArray(x) || (this.scan && x instanceof Inert);
  }
  private list(x: unknown): unknown[] {
    if (this.scan && x instanceof Inert) return [];
    if (!Array.isArray(x)) this.fail('APPEND to something that is not a list');
    return x;
  }
  private dict(x: unknown): Map<unknown, unknown> {
    if (this.scan && x instanceof Inert) return new Map();
    if (!(x instanceof Map)) this.fail('SETITEM on something that is not a dict');
    return x;
  }

  /** Protocol-0 STRING: a quoted Python 2 str literal with backslash escapes, as latin-1. */
  private pyStringLiteral(t: string): string {
    const q = t[0];
    if (t.length < 2 || (q !== "'" && q !== '"') || t[t.length - 1] !== q) this.fail('STRING argument is not quoted');
    const body = t.slice(1, -1);
    const simple: Record<string, string> = { n: '\n', r: '\r', t: '\t', '\\': '\\', "'": "'", '"': '"', a: '\x07', b: '\b', f: '\f', v: '\v', '0': '\0' };
    return body.replace(/\\(x[0-9a-fA-F]{2}|[0-7]{1,3}|.)/g, (_, e: string) => {
      if (e[0] === 'x') return String.fromCharCode(parseInt(e.slice(1), 16));
      if (/^[0-7]+$/.test(e)) return String.fromCharCode(parseInt(e, 8) & 0xff);
      return simple[e] ?? '\\' + e;
    });
  }
}

/** Python's raw-unicode-escape (protocol-0 UNICODE): latin-1 text with \uXXXX / \UXXXXXXXX escapes. */
function rawUnicodeEscape(t: string): string {
  return t.replace(/\\u([0-9a-fA-F]{4})|\\U([0-9a-fA-F]{8})/g, (_, u: string | undefined, U: string | undefined) =>
    String.fromCodePoint(parseInt((u ?? U)!, 16)));
}
