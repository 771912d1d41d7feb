/**
 * A JSON reader for the common small documents of json/jsonb columns (issue 18): it reads the
 * UTF-8 bytes where they lie and builds what `JSON.parse` builds, without making the document's
 * string first and with object keys interned in a small cache. It covers a subset of JSON (ASCII
 * without escapes, numbers without exponents whose digits fit Clinger's fast path, nesting up to
 * 64 levels, no `__proto__` key); for any other document, valid or not, it returns {@link NOT_READ}
 * and the caller runs `JSON.parse` on the text, which gives the value or throws.
 *
 * One loop with the position in a local (no recursion, no module-level cursor), an explicit stack of
 * the open containers, and object members gathered on a value stack until the object closes. An
 * object whose keys (in order) recur is then made by an object literal of those keys, compiled once
 * per shape (`new Function`, keys as `JSON.stringify` literals): the literal defines the properties
 * as `JSON.parse` does (own data properties in the order of the text, a repeated key keeping its
 * first place and its last value, index-like keys first) without a keyed store per member.
 */
import { asciiAt } from './ascii';

/** What {@link readJsonAt} returns for a document outside its subset. */
export const NOT_READ: unique symbol = Symbol('not read');

const EXACT_POW10 = [1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22];
const MANTISSA_LIMIT = (2 ** 53 - 9) / 10;
const MAX_DEPTH = 64;

interface SliceBuffer extends Buffer {
  latin1Slice(start: number, end: number): string;
}

/** Interned object keys: 512 slots by a hash of the key's bytes, checked byte by byte on a hit. */
const KEYS: (string | undefined)[] = new Array(512).fill(undefined);

// The open containers, by depth (1 = the outermost): kind (1 object, 2 array), for an object the
// index of its first member on the value stack and a hash of its keys' slots, for an array itself.
const KIND = new Uint8Array(MAX_DEPTH + 1);
const BASE = new Int32Array(MAX_DEPTH + 1);
const HASH = new Int32Array(MAX_DEPTH + 1);
const ARRAYS: (unknown[] | undefined)[] = new Array(MAX_DEPTH + 1).fill(undefined);
/** Members of the open objects: their keys and values, innermost last. */
const NAMES: string[] = [];
const VALUES: unknown[] = [];

/** Object shapes seen: their keys, how often in a row, and their literal once compiled. */
const SHAPES = 256;
const SHAPE_KEYS: (string[] | undefined)[] = new Array(SHAPES).fill(undefined);
const SHAPE_SEEN = new Uint32Array(SHAPES);
type Make = (values: unknown[], at: number) => Record<string, unknown>;
const SHAPE_MAKE: (Make | undefined)[] = new Array(SHAPES).fill(undefined);
/** A shape is compiled when seen this many times in a row in its slot. */
const COMPILE_AFTER = 4;
/** Objects with more members are built member by member. */
const MAX_SHAPE_KEYS = 32;
/** Compilations in the process's life, at most (a stream of ever new shapes stops compiling). */
const MAX_COMPILED = 2048;
let compiled = 0;

const hasOwn = Object.prototype.hasOwnProperty;

/** The end of the number readNumber read (-1 when outside the subset). */
let numberEnd = 0;

/** The ASCII string at [s, e) (no escapes, no control characters: checked by the caller). */
function str(b: Buffer, s: number, e: number): string {
  const n = e - s;
  return n <= 16 ? asciiAt(b, s, n) : (b as SliceBuffer).latin1Slice(s, e);
}

/** The number at p (`-?digits[.digits]`, Clinger's fast path); its end in numberEnd, -1 when outside the subset. */
function readNumber(b: Buffer, p: number, e: number): number {
  let neg = false;
  if (b[p] === 45) {
    neg = true;
    p++;
  }
  let m = 0;
  const d0 = p;
  while (p < e) {
    const d = b[p] - 48;
    if (d < 0 || d > 9) break;
    if (m > MANTISSA_LIMIT) {
      numberEnd = -1;
      return 0;
    }
    m = m * 10 + d;
    p++;
  }
  const nInt = p - d0;
  // JSON: at least one digit, no leading zero before more digits.
  if (nInt === 0 || (nInt > 1 && b[d0] === 48)) {
    numberEnd = -1;
    return 0;
  }
  let k = 0;
  if (p < e && b[p] === 46) {
    p++;
    const f0 = p;
    while (p < e) {
      const d = b[p] - 48;
      if (d < 0 || d > 9) break;
      if (m > MANTISSA_LIMIT) {
        numberEnd = -1;
        return 0;
      }
      m = m * 10 + d;
      p++;
    }
    k = p - f0;
    if (k === 0 || k > 22) {
      numberEnd = -1;
      return 0;
    }
  }
  if (p < e && (b[p] | 0x20) === 101) {
    numberEnd = -1;
    return 0;
  }
  numberEnd = p;
  const v = k > 0 ? m / EXACT_POW10[k] : m;
  return neg ? -v : v;
}

/** A literal `{"k0": v[i], "k1": v[i + 1], …}` for these keys, or undefined (budget spent, code generation refused). */
function compile(keys: string[]): Make | undefined {
  if (compiled >= MAX_COMPILED || keys.includes('__proto__')) return undefined;
  compiled++;
  try {
    // JSON.stringify of a string is an ECMAScript string literal of the same string (ES2019).
    const members = keys.map((k, j) => `${JSON.stringify(k)}: v[i + ${j}]`).join(', ');
    return new Function('v', 'i', `return {${members}};`) as Make;
  } catch {
    compiled = MAX_COMPILED; // e.g. --disallow-code-generation-from-strings: member by member from now on
    return undefined;
  }
}

/** The object of the members NAMES/VALUES[base, top) (their key slots hashed into `hash`); clears the values. */
function makeObject(base: number, top: number, hash: number): Record<string, unknown> {
  const n = top - base;
  let o: Record<string, unknown> | undefined;
  if (n <= MAX_SHAPE_KEYS) {
    const slot = (hash + n) & (SHAPES - 1);
    const keys = SHAPE_KEYS[slot];
    let same = keys !== undefined && keys.length === n;
    for (let i = 0; same && i < n; i++) same = keys![i] === NAMES[base + i];
    if (same) {
      let make = SHAPE_MAKE[slot];
      if (make === undefined && ++SHAPE_SEEN[slot] === COMPILE_AFTER) make = SHAPE_MAKE[slot] = compile(keys!);
      if (make !== undefined) o = make(VALUES, base);
    } else {
      SHAPE_KEYS[slot] = NAMES.slice(base, top);
      SHAPE_SEEN[slot] = 1;
      SHAPE_MAKE[slot] = undefined;
    }
  }
  if (o === undefined) {
    o = {};
    for (let i = base; i < top; i++) {
      const k = NAMES[i];
      // A key inherited from Object.prototype (a setter, a frozen prototype's property) is defined
      // as JSON.parse defines it (CreateDataProperty), not assigned.
      if (k in o && !hasOwn.call(o, k)) Object.defineProperty(o, k, { value: VALUES[i], writable: true, enumerable: true, configurable: true });
      else o[k] = VALUES[i];
    }
  }
  for (let i = base; i < top; i++) VALUES[i] = undefined;
  return o;
}

/** Drops what the stacks hold of a document given up. */
function giveUp(top: number, depth: number): typeof NOT_READ {
  for (let i = 0; i < top; i++) VALUES[i] = undefined;
  for (let d = 1; d <= depth; d++) ARRAYS[d] = undefined;
  return NOT_READ;
}

/**
 * The value `JSON.parse` gives for the UTF-8 JSON text at `b[s, e)`, or {@link NOT_READ} when the
 * text is outside this reader's subset (then `JSON.parse` must be asked; it may throw).
 * @example
 * readJsonAt(Buffer.from('{"a": [1, 2.5]}'), 0, 15); // { a: [1, 2.5] }
 */
export function readJsonAt(b: Buffer, s: number, e: number): unknown {
  let p = s;
  let depth = 0;
  let top = 0;
  let v: unknown;
  /** Whether a member's key comes before the next value (after `{` or an object's `,`). */
  let key = false;
  for (;;) {
    while (p < e && (b[p] === 32 || b[p] === 10 || b[p] === 13 || b[p] === 9)) p++;
    if (key) {
      // `"key"` and its `:`. Escapes, control characters and non-ASCII: not this reader's subset.
      key = false;
      if (p >= e || b[p] !== 34) return giveUp(top, depth);
      const k0 = p + 1;
      let q = k0;
      let h = 0;
      for (;;) {
        if (q >= e) return giveUp(top, depth);
        const x = b[q];
        if (x === 34) break;
        if (x === 92 || x < 0x20 || x >= 0x80) return giveUp(top, depth);
        h = (h * 31 + x) | 0;
        q++;
      }
      const n = q - k0;
      const slot = (h + n) & 511;
      // The interned key when its characters are these bytes, else a new string in its slot.
      let name = KEYS[slot];
      let same = name !== undefined && name.length === n;
      for (let i = 0; same && i < n; i++) same = name!.charCodeAt(i) === b[k0 + i];
      if (!same) {
        name = str(b, k0, q);
        if (name === '__proto__') return giveUp(top, depth);
        KEYS[slot] = name;
      }
      HASH[depth] = (HASH[depth] * 31 + slot) | 0;
      // The member's slot is taken now: containers inside its value stack above it.
      NAMES[top++] = name!;
      p = q + 1;
      while (p < e && (b[p] === 32 || b[p] === 10 || b[p] === 13 || b[p] === 9)) p++;
      if (p >= e || b[p] !== 58) return giveUp(top, depth);
      p++;
      while (p < e && (b[p] === 32 || b[p] === 10 || b[p] === 13 || b[p] === 9)) p++;
    }
    // A value at p.
    if (p >= e) return giveUp(top, depth);
    const c = b[p];
    if (c === 34) {
      const q0 = p + 1;
      let q = q0;
      for (;;) {
        if (q >= e) return giveUp(top, depth);
        const x = b[q];
        if (x === 34) break;
        if (x === 92 || x < 0x20 || x >= 0x80) return giveUp(top, depth);
        q++;
      }
      v = str(b, q0, q);
      p = q + 1;
    } else if (c === 123) {
      p++;
      while (p < e && (b[p] === 32 || b[p] === 10 || b[p] === 13 || b[p] === 9)) p++;
      if (p < e && b[p] === 125) {
        p++;
        v = {};
      } else {
        if (depth === MAX_DEPTH) return giveUp(top, depth);
        depth++;
        KIND[depth] = 1;
        BASE[depth] = top;
        HASH[depth] = 0;
        key = true;
        continue;
      }
    } else if (c === 91) {
      p++;
      while (p < e && (b[p] === 32 || b[p] === 10 || b[p] === 13 || b[p] === 9)) p++;
      if (p < e && b[p] === 93) {
        p++;
        v = [];
      } else {
        if (depth === MAX_DEPTH) return giveUp(top, depth);
        depth++;
        KIND[depth] = 2;
        ARRAYS[depth] = [];
        continue;
      }
    } else if (c === 45 || (c >= 48 && c <= 57)) {
      v = readNumber(b, p, e);
      p = numberEnd;
      if (p < 0) return giveUp(top, depth);
    } else if (c === 116 && p + 4 <= e && b[p + 1] === 114 && b[p + 2] === 117 && b[p + 3] === 101) {
      p += 4;
      v = true;
    } else if (c === 102 && p + 5 <= e && b[p + 1] === 97 && b[p + 2] === 108 && b[p + 3] === 115 && b[p + 4] === 101) {
      p += 5;
      v = false;
    } else if (c === 110 && p + 4 <= e && b[p + 1] === 117 && b[p + 2] === 108 && b[p + 3] === 108) {
      p += 4;
      v = null;
    } else return giveUp(top, depth);
    // The value v is complete: put it in its container, closing those that end after it.
    for (;;) {
      while (p < e && (b[p] === 32 || b[p] === 10 || b[p] === 13 || b[p] === 9)) p++;
      if (depth === 0) return p === e ? v : NOT_READ;
      const x = p < e ? b[p] : 0;
      if (KIND[depth] === 2) {
        const a = ARRAYS[depth]!;
        a.push(v);
        if (x === 44) {
          p++;
          break;
        }
        if (x !== 93) return giveUp(top, depth);
        p++;
        ARRAYS[depth] = undefined;
        depth--;
        v = a;
      } else {
        VALUES[top - 1] = v;
        if (x === 44) {
          p++;
          key = true;
          break;
        }
        if (x !== 125) return giveUp(top, depth);
        p++;
        const base = BASE[depth];
        v = makeObject(base, top, HASH[depth]);
        top = base;
        depth--;
      }
    }
  }
}
