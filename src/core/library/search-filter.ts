/**
 * Search filters: which indexed videos a search may return. `where` matches the title (key
 * `title`) or a metadata value (compared as text: `year=1999` matches the number 1999, `hasAudio=
 * true` the boolean); several values for one key mean any of them, several keys all of them.
 * `folder` keeps videos whose stored path lies under a folder (relative stored paths are taken
 * from the current directory, as verification reads them).
 *
 * The filter restricts the candidate search itself (`FrameStore.knn` with a scope), so a video
 * outside it never appears, and one inside it is found even when other videos' frames would
 * fill the nearest neighbours (filtering a top-k list afterwards would lose it).
 */
import { resolve } from 'node:path';
import type { FrameStore, VideoScope } from '../../db/frame-store.js';
import { InvalidFilterError } from '../errors/retrace-error.js';
import { isUnder } from '../media/video-files.js';

export type FilterValue = string | number | boolean;

export interface SearchFilter {
  /** Title or metadata key → value, or any of several values. */
  where?: Record<string, FilterValue | readonly FilterValue[]>;
  /** Only videos whose stored path lies under this folder. */
  folder?: string;
}

/**
 * `key=value` strings (the CLI's `--where`, the API's `where` given as strings) as a filter's
 * `where`; a key given twice takes either value.
 */
export function parseWherePairs(pairs: readonly string[]): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const pair of pairs) {
    const at = pair.indexOf('=');
    if (at <= 0) throw new InvalidFilterError(`a filter is key=value, got "${pair}"`);
    const key = pair.slice(0, at);
    (out[key] ??= []).push(pair.slice(at + 1));
  }
  return out;
}

/**
 * A filter from untrusted JSON (the HTTP API): `where` as an object of key → value or values, or
 * as a list of `key=value` strings; `folder` a string. Anything else is an InvalidFilterError.
 */
export function parseFilter(input: { where?: unknown; folder?: unknown }): SearchFilter {
  const out: SearchFilter = {};
  const w = input.where;
  if (Array.isArray(w)) {
    if (!w.every((x) => typeof x === 'string')) throw new InvalidFilterError('where: a list of "key=value" strings, or an object');
    out.where = parseWherePairs(w as string[]);
  } else if (w !== undefined && w !== null) {
    if (typeof w !== 'object') throw new InvalidFilterError('where: an object of key → value, or a list of "key=value" strings');
    const where: Record<string, FilterValue | FilterValue[]> = {};
    for (const [key, value] of Object.entries(w as Record<string, unknown>)) {
      const values = Array.isArray(value) ? (value as unknown[]) : [value];
      if (!key || !values.length || !values.every((v) => ['string', 'number', 'boolean'].includes(typeof v)))
        throw new InvalidFilterError(`where.${key}: a string, number or boolean, or a list of them`);
      where[key] = values as FilterValue[];
    }
    out.where = where;
  }
  if (input.folder !== undefined && input.folder !== null) {
    if (typeof input.folder !== 'string' || !input.folder.trim()) throw new InvalidFilterError('folder: a non-empty path');
    out.folder = input.folder;
  }
  return out;
}

export function hasFilter(f: SearchFilter): boolean {
  return f.folder !== undefined || (f.where !== undefined && Object.keys(f.where).length > 0);
}

/** The videos a filtered search may return, or undefined when the filter allows every video. */
export async function resolveScope(store: FrameStore, f: SearchFilter): Promise<VideoScope | undefined> {
  if (!hasFilter(f)) return undefined;
  const where: Array<readonly [string, readonly string[]]> = [];
  for (const [key, value] of Object.entries(f.where ?? {})) {
    if (!key) throw new InvalidFilterError('a filter key cannot be empty');
    const values = (Array.isArray(value) ? value : [value]) as readonly FilterValue[];
    if (!values.length || values.some((v) => !['string', 'number', 'boolean'].includes(typeof v)))
      throw new InvalidFilterError(`filter "${key}": values must be strings, numbers or booleans`);
    where.push([key, values.map(String)]);
  }
  if (f.folder !== undefined && !f.folder.trim()) throw new InvalidFilterError('folder cannot be empty');
  let videos = await store.videosWhere(where);
  if (f.folder !== undefined) {
    const folder = resolve(f.folder);
    videos = videos.filter((v) => isUnder(folder, resolve(v.path)));
  }
  return { videoIds: videos.map((v) => v.id), frames: videos.reduce((n, v) => n + v.frames, 0) };
}
