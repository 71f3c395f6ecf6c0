import { readdir, stat } from 'node:fs/promises';
import { extname, join, resolve } from 'node:path';

export const VIDEO_EXTENSIONS = new Set(['.mp4', '.m4v', '.mov', '.mkv', '.webm', '.avi', '.wmv', '.flv', '.mpg', '.mpeg', '.ts', '.m2ts', '.3gp', '.ogv']);

/** Expand files and folders (recursively, video extensions only) into a sorted list of absolute paths. */
export async function expandInputs(inputs: readonly string[]): Promise<string[]> {
  const out: string[] = [];
  const walk = async (p: string): Promise<void> => {
    const s = await stat(p);
    if (s.isDirectory()) {
      const names = (await readdir(p)).sort();
      for (const n of names) {
        const child = join(p, n);
        const cs = await stat(child);
        if (cs.isDirectory()) await walk(child);
        else if (VIDEO_EXTENSIONS.has(extname(n).toLowerCase())) out.push(child);
      }
    } else {
      out.push(p);
    }
  };
  for (const i of inputs) await walk(resolve(i));
  return [...new Set(out)];
}
