/**
 * Per-type value decoding (issue 18, item 4): this library's decoders against the pg-types path
 * (the parser `pg` uses, on the text), for the same values, measured in one process.
 *
 *   npx ts-node --transpile-only bench/value-decoders.ts [--rounds 7] [--json out.json]
 *
 * Each case decodes N distinct values from their column bytes, as Row#get does: pg-types' path
 * includes turning the bytes into a string (`toString`, as `pg` does), ours calls the registry's
 * in-place decoders (TypeRegistry#textAt/#binaryAt) on the bytes, as Row#get does. Rounds
 * alternate between the decoders (so a noisy neighbour hits both alike); the figure is the median
 * CPU time per value over the rounds after 3 warm-up rounds. For jsonb it also times `JSON.parse` alone on ready strings:
 * the floor of a decoder that makes the document's string and parses it (this library now reads
 * the common documents from the bytes, src/values/json-bytes.ts, and can be below it).
 */
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { getTypeParser } from 'pg-types';
import { TypeRegistry } from '../src/values/registry';

const { values: args } = parseArgs({ options: { rounds: { type: 'string', default: '7' }, json: { type: 'string' } } });
const ROUNDS = Number(args.rounds);
const N = 20_000;
const WARMUP = 3;
const types = new TypeRegistry();

type Decoder = (b: Buffer) => unknown;
interface Case {
  type: string;
  oid: number;
  text: string[];
  binary: Buffer[];
}

const i32 = (v: number) => {
  const b = Buffer.alloc(4);
  b.writeInt32BE(v);
  return b;
};
const i64 = (v: bigint) => {
  const b = Buffer.alloc(8);
  b.writeBigInt64BE(v);
  return b;
};
const pad = (n: number, w = 2) => String(n).padStart(w, '0');

function numericBinary(s: string): Buffer {
  // Base-10000 digits of a non-negative decimal with up to 4 fraction digits (enough for the cases).
  const [int, frac = ''] = s.split('.');
  const intGroups: number[] = [];
  for (let e = int.length; e > 0; e -= 4) intGroups.unshift(Number(int.slice(Math.max(0, e - 4), e)));
  const fracGroups: number[] = [];
  for (let i = 0; i < frac.length; i += 4) fracGroups.push(Number(frac.slice(i, i + 4).padEnd(4, '0')));
  const digits = [...intGroups, ...fracGroups];
  const out = Buffer.alloc(8 + 2 * digits.length);
  out.writeUInt16BE(digits.length, 0);
  out.writeInt16BE(intGroups.length - 1, 2);
  out.writeUInt16BE(0, 4);
  out.writeUInt16BE(frac.length, 6);
  digits.forEach((d, i) => out.writeUInt16BE(d, 8 + 2 * i));
  return out;
}

function arrayBinary(elementOid: number, elements: (Buffer | null)[]): Buffer {
  const head = Buffer.concat([i32(1), i32(elements.some((e) => e === null) ? 1 : 0), i32(elementOid), i32(elements.length), i32(1)]);
  return Buffer.concat([head, ...elements.map((e) => (e === null ? i32(-1) : Buffer.concat([i32(e.length), e])))]);
}

const EPOCH_2000 = Date.UTC(2000, 0, 1);
const cases: Case[] = [];
{
  const text: string[] = [];
  const binary: Buffer[] = [];
  for (let i = 0; i < N; i++) {
    const ms = Date.UTC(2024, 0, 1) + i * 1_234_567;
    const us = i % 1000;
    const d = new Date(ms);
    text.push(`${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())} ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}.${pad(d.getUTCMilliseconds(), 3)}${pad(us, 3)}+00`);
    binary.push(i64(BigInt(ms - EPOCH_2000) * 1000n + BigInt(us)));
  }
  cases.push({ type: 'timestamptz', oid: 1184, text, binary });
  cases.push({ type: 'timestamp', oid: 1114, text: text.map((t) => t.slice(0, -3)), binary });
  cases.push({ type: 'date', oid: 1082, text: text.map((t) => t.slice(0, 10)), binary: binary.map((b) => i32(Math.floor(Number(b.readBigInt64BE(0) / 86_400_000_000n)))) });
}
{
  const text: string[] = [];
  const binary: Buffer[] = [];
  for (let i = 0; i < N; i++) {
    const h = i % 30;
    const us = BigInt(((h * 60 + (i % 60)) * 60 + (i % 59)) * 1_000_000 + (i % 1000) * 1000);
    text.push(`${i % 3} years ${i % 12} mons ${i % 28} days ${pad(h)}:${pad(i % 60)}:${pad(i % 59)}${i % 1000 ? `.${pad(i % 1000, 3).replace(/0+$/, '')}` : ''}`.replace(/^0 years /, '').replace(/(^| )0 mons /, '$1').replace(/(^| )0 days /, '$1').replace(/(^|\s)1 (year|mon|day)s/, '$11 $2'));
    const b = Buffer.alloc(16);
    b.writeBigInt64BE(us, 0);
    b.writeInt32BE(i % 28, 8);
    b.writeInt32BE((i % 3) * 12 + (i % 12), 12);
    binary.push(b);
  }
  cases.push({ type: 'interval', oid: 1186, text, binary });
}
{
  const values = Array.from({ length: N }, (_, i) => `${i * 7919}.${pad(i % 10000, 4)}`);
  cases.push({ type: 'numeric', oid: 1700, text: values, binary: values.map(numericBinary) });
}
{
  const docs = Array.from({ length: N }, (_, i) => JSON.stringify({ id: i, tags: ['a', 'b'], nested: { n: i * 1.5, ok: i % 2 === 0 } }));
  cases.push({ type: 'jsonb', oid: 3802, text: docs, binary: docs.map((d) => Buffer.concat([Buffer.from([1]), Buffer.from(d)])) });
}
{
  const ints = Array.from({ length: N }, (_, i) => [i, i + 1, i % 7 === 0 ? null : i + 2]);
  cases.push({
    type: 'int4[]',
    oid: 1007,
    text: ints.map((a) => `{${a.map((x) => (x === null ? 'NULL' : x)).join(',')}}`),
    binary: ints.map((a) => arrayBinary(23, a.map((x) => (x === null ? null : i32(x))))),
  });
  const words = Array.from({ length: N }, (_, i) => [`w${i}`, 'alpha', i % 5 === 0 ? null : `x${i % 97}`]);
  cases.push({
    type: 'text[]',
    oid: 1009,
    text: words.map((a) => `{${a.map((x) => (x === null ? 'NULL' : x)).join(',')}}`),
    binary: words.map((a) => arrayBinary(25, a.map((x) => (x === null ? null : Buffer.from(x))))),
  });
  const stamps = cases[0];
  cases.push({
    type: 'timestamptz[]',
    oid: 1185,
    text: stamps.text.map((t, i) => `{"${t}","${stamps.text[(i + 1) % N]}"}`),
    binary: stamps.binary.map((b, i) => arrayBinary(1184, [b, stamps.binary[(i + 1) % N]])),
  });
}

/** pg-types' parser for the OID, as `pg` applies it (numeric: pg-types leaves it a string). */
const pgTypesText = (oid: number): Decoder => {
  const parse = getTypeParser(oid, 'text') as (s: string) => unknown;
  return (b) => parse(b.toString('utf8'));
};
/** Ours as Row#get calls it: the in-place decoders, given the frame and the value's bounds. */
const ourText = (oid: number): Decoder => {
  const parse = types.textAt(oid);
  return (b) => parse(b, 0, b.length);
};
const ourBinary = (oid: number): Decoder => {
  const parse = types.binaryAt(oid);
  return (b) => parse(b, 0, b.length);
};

function cpuNsPerValue(decode: Decoder, inputs: Buffer[]): number {
  let sink = 0;
  const t0 = process.cpuUsage();
  for (let i = 0; i < inputs.length; i++) if (decode(inputs[i]) !== undefined) sink++;
  const t = process.cpuUsage(t0);
  if (sink < 0) console.log(sink);
  return ((t.user + t.system) * 1000) / inputs.length;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1];

const results: Record<string, unknown>[] = [];
console.log(`value decoding, ${N} values per case, median of ${ROUNDS} rounds (CPU ns per value; 2 shared cores, other work running)`);
console.log(`${'type'.padEnd(15)} ${'pg-types'.padStart(9)} ${'ours text'.padStart(10)} ${'ours bin'.padStart(9)} ${'text ×'.padStart(7)} ${'bin ×'.padStart(7)}`);
for (const c of cases) {
  const textBytes = c.text.map((t) => Buffer.from(t));
  const decoders: [string, Decoder, Buffer[]][] = [
    ['pg-types', pgTypesText(c.oid), textBytes],
    ['ours text', ourText(c.oid), textBytes],
    ['ours binary', ourBinary(c.oid), c.binary],
  ];
  // Identical results first (Dates by time value): a faster decoder that differs is no result.
  const norm = (v: unknown): unknown => (v instanceof Date ? v.getTime() : Array.isArray(v) ? v.map(norm) : v);
  const numericArrayFix = c.type === 'numeric' ? (v: unknown) => v : norm;
  for (let i = 0; i < N; i += 997) {
    const ref = JSON.stringify(numericArrayFix(decoders[0][1](textBytes[i])));
    for (const [name, d, inputs] of decoders.slice(1)) {
      const got = JSON.stringify(norm(d(inputs[i])));
      if (got !== ref) throw new Error(`${c.type} ${name} gives ${got} where pg-types gives ${ref} (input ${c.text[i]})`);
    }
  }
  // jsonb: JSON.parse alone, on strings made beforehand (the floor of the toString + JSON.parse path).
  if (c.type === 'jsonb') {
    const strings = c.text;
    decoders.push(['JSON.parse alone', (b) => JSON.parse(strings[b.readUInt32BE(0)]), strings.map((_, i) => i32(i))]);
  }
  const samples = decoders.map(() => [] as number[]);
  for (let r = 0; r < ROUNDS + WARMUP; r++) {
    decoders.forEach(([, d, inputs], k) => {
      const ns = cpuNsPerValue(d, inputs);
      if (r >= WARMUP) samples[k].push(ns); // the first rounds warm up (the JIT reaches its optimized code)
    });
  }
  const [pg, text, bin, floor] = samples.map(median);
  results.push({ type: c.type, pgTypesNs: pg, oursTextNs: text, oursBinaryNs: bin, textSpeedup: pg / text, binarySpeedup: pg / bin, ...(floor === undefined ? {} : { jsonParseAloneNs: floor, bestPossibleSpeedup: pg / floor }), samples });
  console.log(`${c.type.padEnd(15)} ${pg.toFixed(0).padStart(9)} ${text.toFixed(0).padStart(10)} ${bin.toFixed(0).padStart(9)} ${(pg / text).toFixed(2).padStart(7)} ${(pg / bin).toFixed(2).padStart(7)}${floor === undefined ? '' : `   (JSON.parse alone on premade strings: ${floor.toFixed(0)} ns)`}`);
}
if (args.json) writeFileSync(args.json, JSON.stringify({ date: new Date().toISOString(), node: process.version, n: N, rounds: ROUNDS, results }, null, 2) + '\n');
