/**
 * Run the real `retrace` command (`node bin/retrace.js …`) as a user's shell would, and collect
 * its exit code and output. bin/retrace.js runs the compiled CLI in dist/, which is rebuilt
 * here first when any source file is newer than it.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from '../helpers/child-process.js';

export const BIN = join(REPO_ROOT, 'bin', 'retrace.js');
const ENTRY = join(REPO_ROOT, 'dist', 'src', 'cli', 'main.js');

function newestSource(dir: string): number {
  let newest = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) newest = Math.max(newest, newestSource(p));
    else if (e.name.endsWith('.ts')) newest = Math.max(newest, statSync(p).mtimeMs);
  }
  return newest;
}

/** Build dist/ (tsc emits even with type errors elsewhere in a work-in-progress tree) if it is older than src/. */
export function ensureCliBuilt(): void {
  const stale = () => !existsSync(ENTRY) || statSync(ENTRY).mtimeMs < newestSource(join(REPO_ROOT, 'src'));
  if (!stale()) return;
  spawnSync(process.execPath, [join(REPO_ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(REPO_ROOT, 'tsconfig.build.json')], {
    cwd: REPO_ROOT,
    stdio: 'ignore',
    timeout: 240_000,
  });
  if (stale()) throw new Error('could not build dist/ (run npm run build)');
}

export interface CliRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface CliOptions {
  cwd?: string;
  /** Added to (or, with value undefined, removed from) the environment. */
  env?: Record<string, string | undefined>;
  timeoutMs?: number;
}

function environment(extra: CliOptions['env'] = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  // The default database must never be the developer's ./.retrace: every test names its own.
  delete env.RETRACE_DB;
  for (const [k, v] of Object.entries(extra)) {
    if (v === undefined) delete env[k];
    else env[k] = v;
  }
  return env;
}

/** `retrace <args>` with stdin, stdout and stderr not terminals (pipes), as in scripts and CI. */
export function runCli(args: readonly string[], options: CliOptions = {}): Promise<CliRun> {
  return runProcess(process.execPath, [BIN, ...args], options);
}

export function runProcess(bin: string, args: readonly string[], options: CliOptions = {}): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(bin, [...args], { cwd: options.cwd ?? REPO_ROOT, env: environment(options.env), stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (s: string) => {
      stdout += s;
    });
    child.stderr.setEncoding('utf8').on('data', (s: string) => {
      stderr += s;
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 120_000);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

/** Quote one argument for `sh -c`. */
export function shellQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/** util-linux `script`, which runs a command on a pseudo-terminal; null where it is missing. */
export const SCRIPT_BIN = ['/usr/bin/script', '/bin/script'].find((p) => existsSync(p)) ?? null;

/**
 * `retrace <args>` on a pseudo-terminal `columns` wide (0: a terminal that reports no width), via
 * `script`. stdout and stderr both reach the terminal, so the output is one stream.
 */
export function runCliOnTerminal(args: readonly string[], columns: number, options: CliOptions = {}): Promise<CliRun> {
  if (!SCRIPT_BIN) throw new Error('script(1) is not installed');
  const command = `stty cols ${columns} rows 24; exec ${[process.execPath, BIN, ...args].map(shellQuote).join(' ')}`;
  return runProcess(SCRIPT_BIN, ['-qec', command, '/dev/null'], options);
}

/**
 * `retrace serve …` started as a child in `cwd` on a free port, its RETRACE_DB unset; resolves with its
 * stdout up to the line that names its URL, once the server listens. Stop it with `stop()`, which
 * resolves with its exit code.
 */
export async function startServeChild(args: string[], cwd: string): Promise<{ line: string; url: string; stop: () => Promise<number | null> }> {
  const env = { ...process.env };
  delete env.RETRACE_DB;
  const child = spawn(process.execPath, [BIN, 'serve', '--port', '0', ...args], { cwd, stdio: ['ignore', 'pipe', 'pipe'], env });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (s: string) => {
    stderr += s;
  });
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  const stop = () => {
    child.kill('SIGTERM');
    return exited;
  };
  try {
    const line = await new Promise<string>((resolve, reject) => {
      let out = '';
      child.stdout.setEncoding('utf8').on('data', (s: string) => {
        out += s;
        const m = /serving (http:\/\/\S+)/.exec(out);
        if (m && out.includes('\n', m.index)) resolve(out);
      });
      void exited.then((code) => reject(new Error(`serve exited ${code}: ${stderr}`)));
    });
    return { line, url: /serving (http:\/\/\S+)/.exec(line)![1], stop };
  } catch (e) {
    await stop();
    throw e;
  }
}
