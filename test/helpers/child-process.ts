/**
 * Run retrace's storage layer in a second Node process, to test what two processes sharing one
 * embedded data directory do. The child imports the compiled package (`dist/src`, built by
 * `npm install`'s prepare step); it is rebuilt here if missing or older than the sources it uses.
 */
import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

/** The repository root, found from this file (test/helpers/ → ../..). */
export const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));

const NEEDED = ['db/open-database', 'db/pglite-client', 'db/data-dir-lock', 'db/migrations', 'core/errors/retrace-error'];

/** Path of the compiled `dist/src`, building it first when it is missing or stale. */
export function ensureDist(): string {
  const dist = join(REPO_ROOT, 'dist', 'src');
  const stale = () =>
    NEEDED.some((m) => {
      const js = join(dist, `${m}.js`);
      return !existsSync(js) || statSync(js).mtimeMs < statSync(join(REPO_ROOT, 'src', `${m}.ts`)).mtimeMs;
    });
  if (stale()) {
    // Type errors elsewhere in a work-in-progress tree do not stop tsc from emitting.
    spawnSync(process.execPath, [join(REPO_ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(REPO_ROOT, 'tsconfig.build.json')], {
      cwd: REPO_ROOT,
      stdio: 'ignore',
      timeout: 180_000,
    });
    if (stale()) throw new Error(`could not build ${dist} (run npm run build)`);
  }
  return dist;
}

/** Script of the child: open the directory; report OPENED or ERROR <code>; hold it if asked. */
const CHILD = `
const { openDatabase } = await import(process.env.RETRACE_CHILD_MODULE);
try {
  const db = await openDatabase(process.env.RETRACE_CHILD_DB);
  console.log('OPENED ' + process.pid);
  if (process.env.RETRACE_CHILD_HOLD === '1') {
    await new Promise((resolve) => process.stdin.once('data', resolve));
  }
  await db.close();
  console.log('CLOSED');
} catch (e) {
  console.log('ERROR ' + (e && e.code ? e.code : 'UNKNOWN') + ' ' + (e && e.message ? e.message : String(e)).replace(/\\n/g, ' '));
}
process.exit(0);
`;

export interface StorageChild {
  proc: ChildProcessWithoutNullStreams;
  /** Resolves with the first status line: `OPENED <pid>` or `ERROR <code> <message>`. */
  status: Promise<string>;
  /** Resolves when the process has exited. */
  exited: Promise<number | null>;
}

/** Start a child that opens `location`; with `hold`, it keeps it open until stdin gets a line. */
export function startStorageChild(location: string, options: { hold?: boolean } = {}): StorageChild {
  const dist = ensureDist();
  const proc = spawn(process.execPath, ['--input-type=module', '-e', CHILD], {
    cwd: REPO_ROOT,
    env: {
      ...process.env,
      RETRACE_CHILD_MODULE: pathToFileURL(join(dist, 'db', 'open-database.js')).href,
      RETRACE_CHILD_DB: location,
      RETRACE_CHILD_HOLD: options.hold ? '1' : '0',
    },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  const status = new Promise<string>((resolve, reject) => {
    proc.stdout.setEncoding('utf8');
    proc.stdout.on('data', (chunk: string) => {
      out += chunk;
      const line = out.split('\n').find((l) => /^(OPENED|ERROR)/.test(l));
      if (line) resolve(line.trim());
    });
    proc.stderr.on('data', (b: Buffer) => {
      err += b.toString();
    });
    proc.on('close', (code) => reject(new Error(`child exited (${code}) without a status; stdout: ${out} stderr: ${err.slice(0, 2000)}`)));
  });
  status.catch(() => undefined);
  const exited = new Promise<number | null>((resolve) => proc.on('close', (code) => resolve(code)));
  return { proc, status, exited };
}
