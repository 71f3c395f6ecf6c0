import { readdir } from 'node:fs/promises';
import { extname, isAbsolute, join, relative, sep } from 'node:path';

/** File name extensions taken as video when a folder is indexed or synced. */
export const VIDEO_EXTENSIONS: ReadonlySet<string> = new Set([
  '.mp4',
  '.m4v',
  '.mov',
  '.mkv',
  '.webm',
  '.avi',
  '.wmv',
  '.asf',
  '.flv',
  '.mpg',
  '.mpeg',
  '.ts',
  '.m2ts',
  '.mts',
  '.vob',
  '.3gp',
  '.ogv',
]);

export function isVideoFileName(name: string): boolean {
  return VIDEO_EXTENSIONS.has(extname(name).toLowerCase());
}

/** The video files under a folder, recursively, sorted by name at each level (symbolic links are not followed). */
export async function videoFilesUnder(dir: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (d: string) => {
    const entries = (await readdir(d, { withFileTypes: true })).sort((a, b) => a.name.localeCompare(b.name));
    for (const e of entries) {
      const p = join(d, e.name);
      if (e.isDirectory()) await walk(p);
      else if (e.isFile() && isVideoFileName(e.name)) out.push(p);
    }
  };
  await walk(dir);
  return out;
}

/** Whether `path` lies strictly inside `dir` (both absolute). */
export function isUnder(dir: string, path: string): boolean {
  const rel = relative(dir, path);
  return rel !== '' && rel !== '..' && !rel.startsWith(`..${sep}`) && !isAbsolute(rel);
}
