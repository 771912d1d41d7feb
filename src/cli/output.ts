import { createWriteStream } from 'node:fs';
import type { Writable } from 'node:stream';

/** Where JSON lines go: a file (appended, like pg_recvlogical -f) or `-` for standard output. */
export function openOutput(target: string): Writable {
  return target === '-' ? process.stdout : createWriteStream(target, { flags: 'a' });
}

/** Writes `text` and resolves when it has been handed to the operating system. */
export function writeAsync(out: Writable, text: string): Promise<void> {
  return new Promise((resolve, reject) => out.write(text, (err) => (err ? reject(err) : resolve())));
}
