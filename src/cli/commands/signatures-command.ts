import { writeFile } from 'node:fs/promises';
import type { Retrace } from '../../core/engine/retrace.js';
import { InvalidArgumentError } from '../../core/errors/retrace-error.js';
import { EXIT } from '../exit-codes.js';

/** `retrace signatures make FILE -o OUT`: write the portable signature of a video or picture. */
export async function signaturesCommand(engine: Retrace, args: readonly string[], options: { output?: string; json: boolean }): Promise<number> {
  const [sub, file, ...extra] = args;
  if (sub !== 'make' || !file || extra.length) throw new InvalidArgumentError('usage: retrace signatures make <video or picture> -o <out.sig>');
  if (!options.output) throw new InvalidArgumentError('retrace signatures make: -o <out.sig> is required');
  const bytes = await engine.makeSignature(file);
  await writeFile(options.output, bytes);
  if (options.json) process.stdout.write(JSON.stringify({ path: options.output, bytes: bytes.length, descriptor: engine.descriptor.id }) + '\n');
  else process.stdout.write(`wrote ${options.output} (${bytes.length} bytes, descriptor ${engine.descriptor.id})\n`);
  return EXIT.ok;
}
