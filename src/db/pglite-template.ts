/**
 * A new embedded index starts from a copy of a freshly initialised PGlite data directory (a
 * "template", made once by `npm run build` for the installed PGlite version) instead of running
 * PGlite's initdb in the process.
 *
 * Why: PGlite's initdb starts a second PostgreSQL instance, snapshots its whole WASM heap and
 * runs the initdb WASM module beside the main instance; the process peaked at 764–813 MB RSS
 * (VmHWM) creating an empty index, and the heap stayed resident afterwards. Unpacking the
 * template and opening it as an existing directory peaks at the cost of opening an existing
 * index (about 200 MB), and takes a fraction of initdb's time. The template is exactly what
 * initdb wrote (no extension, no retrace tables): migrations then run as on any new index.
 *
 * The template is a gzip'd POSIX tar of the data directory, read and written here (PostgreSQL's
 * file names are short, so plain ustar headers suffice). A template made by another PGlite
 * version is never used: its name carries the version, and without one initdb runs as before.
 */
import { createRequire } from 'node:module';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, statSync, writeFileSync, chmodSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync, gzipSync } from 'node:zlib';

const BLOCK = 512;

/** The installed PGlite's version (its package.json, found from its resolved entry). */
export function pgliteVersion(): string {
  const require = createRequire(import.meta.url);
  let dir = dirname(require.resolve('@electric-sql/pglite'));
  for (let i = 0; i < 4; i++) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg)) {
      const parsed = JSON.parse(readFileSync(pkg, 'utf8')) as { name?: string; version?: string };
      if (parsed.name === '@electric-sql/pglite' && parsed.version) return parsed.version;
    }
    dir = dirname(dir);
  }
  throw new Error('cannot find the version of @electric-sql/pglite');
}

/** The retrace package's root (the folder with its package.json), from src/db or dist/src/db. */
function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'migrations'))) return dir;
    dir = dirname(dir);
  }
  throw new Error('retrace package root not found');
}

/** Where the build puts the template for the installed PGlite (it may not exist). */
export function templatePath(version: string = pgliteVersion()): string {
  return join(packageRoot(), 'dist', 'pglite-template', `pglite-${version}-initdb.tar.gz`);
}

/** The template for the installed PGlite, or null when the build made none. */
export function findTemplate(): string | null {
  try {
    const path = templatePath();
    return existsSync(path) ? path : null;
  } catch {
    return null;
  }
}

function octal(value: number, width: number): string {
  return value.toString(8).padStart(width - 1, '0') + '\0';
}

function header(name: string, mode: number, size: number, type: '0' | '5'): Buffer {
  if (Buffer.byteLength(name) > 99) throw new Error(`path too long for the template: ${name}`);
  const h = Buffer.alloc(BLOCK);
  h.write(name, 0, 'utf8');
  h.write(octal(mode & 0o7777, 8), 100, 'ascii');
  h.write(octal(0, 8), 108, 'ascii');
  h.write(octal(0, 8), 116, 'ascii');
  h.write(octal(size, 12), 124, 'ascii');
  h.write(octal(0, 12), 136, 'ascii');
  h.write('        ', 148, 'ascii');
  h.write(type, 156, 'ascii');
  h.write('ustar\u000000', 257, 'ascii');
  let sum = 0;
  for (const b of h) sum += b;
  h.write(octal(sum, 7) + ' ', 148, 'ascii');
  return h;
}

/** Pack a directory tree (directories and regular files) into a gzip'd tar. */
export function packDirectory(root: string): Buffer {
  const parts: Buffer[] = [];
  const walk = (dir: string) => {
    for (const name of readdirSync(dir).sort()) {
      const path = join(dir, name);
      const rel = relative(root, path).split(sep).join('/');
      const s = statSync(path);
      if (s.isDirectory()) {
        parts.push(header(rel + '/', s.mode, 0, '5'));
        walk(path);
      } else if (s.isFile()) {
        const data = readFileSync(path);
        parts.push(header(rel, s.mode, data.length, '0'), data);
        const pad = (BLOCK - (data.length % BLOCK)) % BLOCK;
        if (pad) parts.push(Buffer.alloc(pad));
      }
    }
  };
  walk(root);
  parts.push(Buffer.alloc(2 * BLOCK));
  return gzipSync(Buffer.concat(parts), { level: 9 });
}

/**
 * Unpack a template made by {@link packDirectory} into `dir` (created if needed). PG_VERSION,
 * which marks a directory as a database, is written last: an unpacking cut short leaves a
 * directory that the next open unpacks again.
 */
export function unpackTemplate(template: string, dir: string): void {
  const tar = gunzipSync(readFileSync(template));
  mkdirSync(dir, { recursive: true });
  let marker: { data: Buffer; mode: number } | null = null;
  for (let at = 0; at + BLOCK <= tar.length;) {
    const h = tar.subarray(at, at + BLOCK);
    if (h.every((b) => b === 0)) break;
    const name = h.toString('utf8', 0, 100).replace(/\0.*$/s, '');
    const mode = parseInt(h.toString('ascii', 100, 108).replace(/\0.*$/s, '').trim(), 8);
    const size = parseInt(h.toString('ascii', 124, 136).replace(/\0.*$/s, '').trim(), 8);
    const type = h.toString('ascii', 156, 157);
    if (!name || name.startsWith('/') || name.split('/').includes('..')) throw new Error(`bad path in the PGlite template: ${name}`);
    const target = join(dir, name);
    at += BLOCK;
    if (type === '5') {
      mkdirSync(target, { recursive: true });
      chmodSync(target, mode);
    } else if (type === '0' || type === '\0') {
      if (name === 'PG_VERSION') marker = { data: tar.subarray(at, at + size), mode };
      else writeFileSync(target, tar.subarray(at, at + size), { mode });
      at += Math.ceil(size / BLOCK) * BLOCK;
    } else {
      throw new Error(`unexpected entry type ${JSON.stringify(type)} in the PGlite template`);
    }
  }
  if (!marker) throw new Error(`the PGlite template ${template} holds no PG_VERSION`);
  writeFileSync(join(dir, 'PG_VERSION'), marker.data, { mode: marker.mode });
}

/**
 * Make the template for the installed PGlite: initdb into a temporary directory (in this
 * process, which pays initdb's memory once, at build time), pack it, write it atomically.
 */
export async function buildTemplate(out: string = templatePath()): Promise<string> {
  const { PGlite } = await import('@electric-sql/pglite');
  const tmp = await mkdtemp(join(tmpdir(), 'retrace-pglite-template-'));
  try {
    const dataDir = join(tmp, 'data');
    const db = await PGlite.create(dataDir);
    await db.close();
    const packed = packDirectory(dataDir);
    mkdirSync(dirname(out), { recursive: true });
    writeFileSync(out + '.tmp', packed);
    renameSync(out + '.tmp', out);
    return out;
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}
