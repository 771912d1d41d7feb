// In-memory hot path, for optimizing: recorded pgoutput wrapped as the CopyData byte stream a
// socket delivers (64 KB chunks) → MessageFramer → decodeReplicationFrame → the source's
// bookkeeping → parsePgoutput() → a no-op consumer (builds with src/source/direct.js: the in-place
// path instead, header read in place and parsePgoutput() fused with the source). Measures CPU time, not wall time (the machine
// is shared). Given several builds (e.g. a copy of dist/ from before a change), it alternates
// passes between them in one process, so drifting load hits both alike.
//   node bench/hotpath.mjs <pgoutput.bin> [passes] [distDir ...]     (default: dist)
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
const { Observable } = require('rxjs');
const [file, passesArg, ...dists] = process.argv.slice(2);
const passes = Number(passesArg ?? 9);
if (dists.length === 0) dists.push(fileURLToPath(new URL('../dist', import.meta.url)));

function load(dist) {
  const d = (p) => require(resolve(dist, 'cjs', p));
  let direct;
  try {
    direct = d('src/source/direct.js');
  } catch {
    direct = undefined; // a build from before the in-place path
  }
  return { MessageFramer: d('src/wire/framer.js').MessageFramer, decodeReplicationFrame: d('src/protocol/frames.js').decodeReplicationFrame, Lsn: d('src/lsn.js').Lsn, parsePgoutput: d('operators/parse-pgoutput.js').parsePgoutput, direct };
}

const rec = readFileSync(file);
const parts = [];
for (let off = 0; off < rec.length; ) {
  const len = rec.readUInt32BE(off);
  const h = Buffer.alloc(5 + 25);
  h[0] = 0x64; // CopyData
  h.writeInt32BE(4 + 25 + len, 1);
  h[5] = 0x77; // XLogData; a logical walsender sends the record's LSN as both walStart and walEnd
  h.writeBigUInt64BE(rec.readBigUInt64BE(off + 4), 6);
  h.writeBigUInt64BE(rec.readBigUInt64BE(off + 4), 14);
  h.writeBigInt64BE(848_000_000_000_000n + BigInt(off), 22);
  parts.push(h, rec.subarray(off + 12, off + 12 + len));
  off += 12 + len;
}
const stream = Buffer.concat(parts);
// Chunk size: a client that keeps up with the walsender reads small chunks (about 800 bytes
// measured on the baseline), not full 64 KB socket buffers. CHUNK=65536 for bulk reads.
const CHUNK = Number(process.env.CHUNK ?? 800);
const chunks = [];
for (let i = 0; i < stream.length; i += CHUNK) chunks.push(Buffer.from(stream.subarray(i, i + CHUNK)));

const u32 = (b, at) => ((b[at] << 24) | (b[at + 1] << 16) | (b[at + 2] << 8) | b[at + 3]) >>> 0;

function pass(lib) {
  return lib.direct ? passInPlace(lib) : passFrames(lib);
}

/**
 * Builds with the in-place path: what src/source/logical.ts's onData does per XLogData (header
 * halves read in place, the written position kept as numbers), then parsePgoutput()'s decoder
 * through the source's direct form.
 */
function passInPlace({ MessageFramer, parsePgoutput, direct }) {
  let n = 0;
  const source = new Observable(() => {});
  source[direct.DIRECT] = (subscriber, onXLogData) => {
    let wHi = 0;
    let wLo = 0;
    const framer = new MessageFramer((code, buf, s, e) => {
      if (buf[s] !== 0x77) return;
      const hi = u32(buf, s + 1);
      const lo = u32(buf, s + 5);
      const eh = u32(buf, s + 9);
      const el = u32(buf, s + 13);
      if (eh > wHi || (eh === wHi && el > wLo)) {
        wHi = eh;
        wLo = el;
      }
      onXLogData(buf, s + 25, e, hi, lo);
    });
    for (const c of chunks) framer.push(c);
    subscriber.complete();
  };
  source.pipe(parsePgoutput()).subscribe((m) => {
    if (m.type === 'insert') n++;
  });
  return n;
}

function passFrames({ MessageFramer, decodeReplicationFrame, Lsn, parsePgoutput }) {
  let n = 0;
  new Observable((subscriber) => {
    // What src/source/logical.ts's onData does per frame.
    let written = Lsn.ZERO;
    let received = Lsn.ZERO;
    const framer = new MessageFramer((code, buf, s, e) => {
      const frame = decodeReplicationFrame(buf, s, e);
      if (frame.type === 'xlogdata') {
        if (frame.walEnd.value > written.value) written = frame.walEnd;
        if (frame.walStart.value > received.value) received = frame.walStart;
      }
      subscriber.next(frame);
    });
    for (const c of chunks) framer.push(c);
    subscriber.complete();
  })
    .pipe(parsePgoutput())
    .subscribe((m) => {
      if (m.type === 'insert') n++;
    });
  return n;
}

const builds = dists.map((d) => ({ dist: d, lib: load(d), rates: [] }));
for (const b of builds) pass(b.lib); // warm-up
for (let i = 0; i < passes; i++) {
  for (const b of builds) {
    const c0 = process.cpuUsage();
    const n = pass(b.lib);
    const c = process.cpuUsage(c0);
    b.rates.push(n / ((c.user + c.system) / 1e6));
  }
}
for (const b of builds) {
  b.rates.sort((x, y) => x - y);
  console.log(`${b.dist}: best ${(b.rates.at(-1) / 1e6).toFixed(2)} M inserts/s, median ${(b.rates[b.rates.length >> 1] / 1e6).toFixed(2)} M per CPU second`);
}
