import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { checkCapture, readCapture } from '../support/captures';

// Real pgoutput captures from PostgreSQL 14, 15 and 18 (spec/integration/pgoutput-fidelity.spec.ts
// with UPDATE_FIXTURES=1): byte-level checks that need no server.
const dir = join(__dirname, '../fixtures');
const files = readdirSync(dir).filter((f) => /^pgoutput-.*\.jsonl\.gz$/.test(f));

describe('pgoutput captures from real servers', () => {
  it('covers every protocol version', () => {
    expect(new Set(files.map((f) => readCapture(join(dir, f)).config.protoVersion))).toEqual(new Set([1, 2, 3, 4]));
  });

  it.each(files)('%s decodes, re-encodes to the same bytes, and holds every message its options promise', (file) => {
    const capture = readCapture(join(dir, file));
    expect(capture.frames.length).toBeGreaterThan(100);
    expect(checkCapture(capture)).toHaveLength(capture.frames.length);
  });
});
