import { Transform } from 'node:stream';
import { Decompress } from 'fzstd';

/**
 * A zstd decompression stream over fzstd (pure JavaScript; Node.js 20's zlib has no zstd), for
 * server-compressed `base.tar.zst` archives.
 */
export function createZstdDecompress(): Transform {
  let transform: Transform;
  const decoder = new Decompress((chunk) => {
    // fzstd may reuse its window buffer: copy what it hands out.
    transform.push(Buffer.from(chunk));
  });
  transform = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      try {
        decoder.push(chunk);
        callback();
      } catch (err) {
        callback(err as Error);
      }
    },
    flush(callback) {
      try {
        decoder.push(new Uint8Array(0), true);
        callback();
      } catch (err) {
        callback(err as Error);
      }
    },
  });
  return transform;
}
