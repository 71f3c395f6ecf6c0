import { createWriteStream } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { Readable } from 'node:stream';

/** What `search` accepts: a file path, the file's bytes, or a readable stream of them. */
export type QueryInput = string | Buffer | Uint8Array | Readable;

/**
 * Give ffmpeg a seekable file. MP4s often keep their index at the end, so a pipe cannot be
 * probed or decoded reliably; buffers and streams are spooled once to a private temp file
 * (the input bytes, never decoded frames) and removed afterwards.
 */
export async function withQueryFile<T>(input: QueryInput, fn: (path: string) => Promise<T>): Promise<T> {
  if (typeof input === 'string') return fn(input);
  const dir = await mkdtemp(join(tmpdir(), 'retrace-query-'));
  const path = join(dir, 'query');
  try {
    if (input instanceof Uint8Array) await writeFile(path, input);
    else await pipeline(input, createWriteStream(path));
    return await fn(path);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
