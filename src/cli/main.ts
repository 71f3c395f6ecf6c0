import { parseArgs } from 'node:util';
import { readFileSync, realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { setFlagsFromString } from 'node:v8';
import type { Retrace } from '../core/engine/retrace.js';
import { RetraceError } from '../core/errors/retrace-error.js';
import { defaultDatabaseLocation, openDatabase } from '../db/open-database.js';
import type { SqlClient } from '../db/sql-client.js';
import { EXIT, exitCodeFor } from './exit-codes.js';
// Each command's module (and the engine) is imported when that command runs: `serve` alone
// needs express and @tus/server, `bench` its suite (start-up of a CLI search, bench/RESULTS.md).

const HELP = `retrace — find where a video clip or picture came from

Usage:
  retrace index <files or folders...> [--meta KEY=VALUE]... [--stored-windows on|off] [--db PATH|URL] [--json]
  retrace sync <folder> [--watch] [--meta KEY=VALUE]... [--db PATH|URL] [--json]
  retrace search <file> [--where KEY=VALUE]... [--folder PATH] [--limit N | --top N] [--ignore-recurring]
                [--db PATH|URL] [--json]
  retrace search <file.sig> [...]   (a signature: matched without media, segments 'no-media')
  retrace dedup [--recurring] [--full] [--db PATH|URL] [--json | --csv FILE]
  retrace signatures make <video> -o <out.sig> [--db PATH|URL]
  retrace list [--db PATH|URL] [--json]
  retrace remove <id...> [--db PATH|URL]
  retrace stats [--db PATH|URL] [--json]
  retrace serve [--port N] [--host H] [--db PATH|URL] [--allowed-host NAME]... [--insecure-no-auth]
                [--rate-limit N] [--public-search] [--keep-queries] [--data-dir DIR] [--trust-proxy N]
                [--search-concurrency N] [--index-concurrency N] [--no-worker] [--read-db URL] [--pool N]
  retrace worker --db URL [--concurrency N] [--pool N]
  retrace dump <file> [--db PATH|URL] [--json]
  retrace restore <file> [--db PATH|URL] [--json]
  retrace keys create --scope search|index|admin [--name N] [--db PATH|URL] [--json]
  retrace keys list [--db PATH|URL] [--json]
  retrace keys revoke <id> [--db PATH|URL]
  retrace bench accuracy --corpus DIR [--seed N] [--json FILE] [--per-family N]
  retrace bench ingest <files or folders...> [--db PATH|URL] [--json FILE]
  retrace bench ingest --vs-decode <folder|files...> [--repeat N] [--json FILE]
  retrace bench search --frames N [--db PATH|URL] [--json FILE] [--quick]
  retrace bench cli [--ingest FILE] [--corpus DIR] [--query FILE] [--runs N] [--json FILE]
  (benchmarks run from a checkout of the retrace repository, not from the installed package)

index --meta stores KEY=VALUE in each video's metadata (repeatable), for search --where.
--stored-windows on (index, sync, serve, worker) makes every later ingest into the index also
store narrow strips and quadrants of each frame, so that vertical 9:16 reframes and
off-centre crops keeping 40-60 % of the picture can be found, at about twice the storage per
frame; the choice is recorded in the index (off until set; off stops storing them).
sync makes the videos indexed from under <folder> match its video files: new files are
indexed, entries whose file is gone are removed, renamed or moved files keep their entry
(found by content hash, not re-indexed), unchanged files are checked by size and time only.
Videos indexed from elsewhere are left alone; the same content twice is one entry (the other
copies are listed as duplicates). --watch syncs again after each change (--debounce-ms, default
1000) until Ctrl-C, which ends it with exit 0. --json prints one summary object per sync.
search --where KEY=VALUE keeps videos whose title or metadata KEY equals VALUE (repeatable:
different keys must all match, one key given twice matches either value); --folder PATH keeps
videos whose file lies under PATH. --top N lists N videos whatever their score: the matches,
then the closest near misses marked "below threshold" ("belowThreshold": true in JSON).

dedup searches every video indexed since its last run (all with --full) against the rest of
the library by its stored frames (no decoding), verifies segments where both files are at
hand, and lists clusters of videos and their relations: duplicate, contains, contained-in,
related, with the shared segments (--csv FILE: one row per relation). --recurring also lists
segments found in 3 or more videos (intros, credits); search --ignore-recurring gives those
no weight, so a shared intro alone never makes a match.
signatures make writes the portable signature of a video or picture (its frames' descriptors
and times, no pixels; docs/signature-format.md). index adds a video's .sig as a reference
without media (no thumbnails, never verified); search with a .sig matches without media:
segments are 'no-media' and need a score of 0.8. A signature of another descriptor fails with
DESCRIPTOR_MISMATCH, a damaged one with BAD_SIGNATURE (exit 3).

--db defaults to $RETRACE_DB, else ./.retrace (an embedded database directory);
a postgres:// URL selects a PostgreSQL server with pgvector. Only index, sync and serve
create an index; the other commands need one to exist.

Once any API key exists (retrace keys create), every /api route of the server but
/api/health needs "Authorization: Bearer <key>". Scopes: search (submit searches,
read its own jobs) < index (+ upload, index and list videos) < admin (everything).
serve refuses a non-loopback --host while no key exists, unless --insecure-no-auth.
--public-search lets clients without a key upload queries and read their own searches.
--rate-limit N: requests per minute per key (per IP without one), default 600, 0 off;
counted in the database, so servers sharing one PostgreSQL share the counts.
Query uploads are deleted when their search ends unless --keep-queries. Server files
(uploads, indexed uploads, queries) live beside the database unless --data-dir.
--trust-proxy N: the server is behind N proxies (per-IP limits use X-Forwarded-For).
Searches and ingests run in separate lanes, so a search never waits behind an ingest:
--search-concurrency N (default 2) and --index-concurrency N (default 1) jobs at once.
serve --no-worker stores index (and dedup) jobs without running them: retrace worker processes on the
same PostgreSQL database claim and run them (--concurrency N at once, default 1; a worker
killed mid-job has its job run again by another). Workers read uploads at the path the server
stored them, so they must see its --data-dir at the same path. serve --read-db URL sends
searches, listings and thumbnail look-ups to a read replica (a streaming standby) of --db.
dump writes every row of the index (videos, frames, settings, keys, jobs) to one gzip'd file
that restore loads into an empty index, on either store: a dump of an embedded index restores
onto PostgreSQL and the other way round. restore builds the ANN indexes afterwards.
On PostgreSQL, --pool N (or $RETRACE_PG_POOL) sets the connections per pool (default 4), and
$RETRACE_PG_STATEMENT_TIMEOUT_MS cancels statements running longer (default: no limit).
serve logs JSON lines to stderr at $RETRACE_LOG_LEVEL (default info).
Requests whose Host is not localhost, 127.0.0.1, [::1] or an --allowed-host get 421.
Put -- before file names that begin with a dash: retrace index -- -clip.mp4

Exit codes: 0 ok, 1 failed (some inputs failed), 2 usage, 3 bad media, 4 over a limit,
5 not found (file, video id, key id, or no index at --db), 6 database (locked, mismatch,
unreachable), 7 environment (ffmpeg, model), 8 refused for safety (serve on a public
address without keys), 130/143 interrupted (SIGINT/SIGTERM).`;

function version(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string };
    return pkg.version;
  } catch {
    return 'unknown';
  }
}

/** Commands that may create the database they are pointed at; the others need an existing index. */
const CREATING_COMMANDS = new Set(['index', 'sync', 'serve', 'signatures', 'worker']);

let pipesGuarded = false;
/**
 * `retrace list | head -1` closes the pipe early, a closed terminal fails writes with EIO: the
 * rest of the output has nowhere to go, which is not an error of retrace's (without a listener
 * Node would crash, in the middle of whatever it was doing).
 */
function ignoreClosedPipes(): void {
  if (pipesGuarded) return;
  pipesGuarded = true;
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code !== 'EPIPE' && e.code !== 'EIO') throw e;
    });
  }
}

/** Run the CLI with `argv` (without node and script); resolves to the exit code. */
export async function main(argv: readonly string[]): Promise<number> {
  ignoreClosedPipes();
  const [command, ...rest] = argv;
  if (!command) {
    process.stderr.write(HELP + '\n');
    return EXIT.usage;
  }
  if (command === '--help' || command === '-h' || command === 'help') {
    process.stdout.write(HELP + '\n');
    return EXIT.ok;
  }
  if (command === '--version' || command === '-v') {
    process.stdout.write(version() + '\n');
    return EXIT.ok;
  }
  if (command === 'bench') return (await import('./commands/bench-command.js')).benchCommand(rest);

  let parsed;
  try {
    parsed = parseArgs({
      args: [...rest],
      allowPositionals: true,
      options: {
        db: { type: 'string' },
        json: { type: 'boolean', default: false },
        limit: { type: 'string' },
        top: { type: 'string' },
        where: { type: 'string', multiple: true },
        folder: { type: 'string' },
        meta: { type: 'string', multiple: true },
        watch: { type: 'boolean', default: false },
        'debounce-ms': { type: 'string' },
        port: { type: 'string' },
        host: { type: 'string' },
        scope: { type: 'string' },
        name: { type: 'string' },
        'allowed-host': { type: 'string', multiple: true },
        'insecure-no-auth': { type: 'boolean', default: false },
        'rate-limit': { type: 'string' },
        'public-search': { type: 'boolean', default: false },
        'keep-queries': { type: 'boolean', default: false },
        'data-dir': { type: 'string' },
        'trust-proxy': { type: 'string' },
        'search-concurrency': { type: 'string' },
        'index-concurrency': { type: 'string' },
        csv: { type: 'string' },
        full: { type: 'boolean', default: false },
        recurring: { type: 'boolean', default: false },
        'ignore-recurring': { type: 'boolean', default: false },
        output: { type: 'string', short: 'o' },
        concurrency: { type: 'string' },
        'no-worker': { type: 'boolean', default: false },
        'read-db': { type: 'string' },
        pool: { type: 'string' },
        'stored-windows': { type: 'string' },
      },
    });
  } catch (e) {
    process.stderr.write(`${(e as Error).message}\n\n${HELP}\n`);
    return EXIT.usage;
  }
  const { values, positionals } = parsed;
  const db = values.db ?? defaultDatabaseLocation();
  const need = (n: number, what: string): boolean => {
    if (positionals.length >= n) return true;
    process.stderr.write(`retrace ${command}: missing ${what}\n\n${HELP}\n`);
    return false;
  };
  const limit = values.limit !== undefined ? Number(values.limit) : undefined;
  if (limit !== undefined && (!Number.isInteger(limit) || limit < 1)) {
    process.stderr.write('--limit must be a positive whole number\n');
    return EXIT.usage;
  }
  const count = (name: 'rate-limit' | 'trust-proxy' | 'search-concurrency' | 'index-concurrency' | 'concurrency' | 'pool'): number | undefined | null => {
    const v = values[name];
    if (v === undefined) return undefined;
    const n = Number(v);
    if (!/^\d+$/.test(v.trim()) || !Number.isSafeInteger(n)) {
      process.stderr.write(`--${name} must be a whole number (0 or more)\n`);
      return null;
    }
    return n;
  };
  const rateLimit = count('rate-limit');
  const trustProxy = count('trust-proxy');
  const searchConcurrency = count('search-concurrency');
  const indexConcurrency = count('index-concurrency');
  const workerConcurrency = count('concurrency');
  const pool = count('pool');
  if (rateLimit === null || trustProxy === null || searchConcurrency === null || indexConcurrency === null || workerConcurrency === null || pool === null)
    return EXIT.usage;
  if (searchConcurrency === 0 || indexConcurrency === 0 || workerConcurrency === 0 || pool === 0) {
    process.stderr.write('--search-concurrency, --index-concurrency, --concurrency and --pool must be 1 or more\n');
    return EXIT.usage;
  }
  const storedWindows = values['stored-windows'];
  if (storedWindows !== undefined && storedWindows !== 'on' && storedWindows !== 'off') {
    process.stderr.write('--stored-windows must be on or off\n');
    return EXIT.usage;
  }
  const top = values.top !== undefined ? Number(values.top) : undefined;
  if (top !== undefined && (!Number.isInteger(top) || top < 1)) {
    process.stderr.write('--top must be a positive whole number\n');
    return EXIT.usage;
  }
  if (top !== undefined && limit !== undefined) {
    process.stderr.write('--top and --limit cannot be used together (--top N lists N videos)\n');
    return EXIT.usage;
  }
  const debounceMs = values['debounce-ms'] !== undefined ? Number(values['debounce-ms']) : undefined;
  if (debounceMs !== undefined && (!Number.isInteger(debounceMs) || debounceMs < 0)) {
    process.stderr.write('--debounce-ms must be a whole number of milliseconds\n');
    return EXIT.usage;
  }
  let where: Record<string, string[]> | undefined;
  let meta: Record<string, string> | undefined;
  try {
    const { parseWherePairs } = await import('../core/library/search-filter.js');
    if (values.where?.length) where = parseWherePairs(values.where);
    if (values.meta?.length) {
      meta = {};
      for (const [key, vals] of Object.entries(parseWherePairs(values.meta))) {
        if (vals.length > 1) throw new Error(`--meta ${key} given twice`);
        meta[key] = vals[0];
      }
    }
  } catch (e) {
    process.stderr.write(`${(e as Error).message}\n`);
    return EXIT.usage;
  }
  if (command === 'keys') {
    let sql: SqlClient | undefined;
    try {
      // Only `create` may set up a new database (a server's first key comes before its first start).
      sql = await openDatabase(db, { create: positionals[0] === 'create' });
      return await (
        await import('./commands/keys-command.js')
      ).keysCommand(sql, positionals, { json: values.json ?? false, scope: values.scope, name: values.name });
    } catch (e) {
      reportError(e, values.json ?? false);
      return exitCodeFor(e);
    } finally {
      await sql?.close().catch(() => undefined);
    }
  }
  if (command === 'dump' || command === 'restore') {
    if (!need(1, 'the dump file')) return EXIT.usage;
    try {
      const m = await import('./commands/dump-command.js');
      return await (command === 'dump' ? m.dumpCommand : m.restoreCommand)(db, positionals[0], values.json ?? false);
    } catch (e) {
      reportError(e, values.json ?? false);
      return exitCodeFor(e);
    }
  }
  if (!['index', 'sync', 'search', 'list', 'remove', 'stats', 'serve', 'dedup', 'signatures', 'worker'].includes(command)) {
    process.stderr.write(`Unknown command: ${command}\n\n${HELP}\n`);
    return EXIT.usage;
  }
  if (command === 'index' && !need(1, 'files or folders to index')) return EXIT.usage;
  if (command === 'search' && !need(1, 'the file to search for')) return EXIT.usage;
  if (command === 'sync' && !need(1, 'the folder to sync')) return EXIT.usage;
  if (command === 'remove' && !need(1, 'the video id to remove')) return EXIT.usage;
  if (command === 'signatures' && !need(2, 'what to do: signatures make <video> -o <out.sig>')) return EXIT.usage;
  if (values.csv !== undefined && values.json) {
    process.stderr.write('--csv and --json cannot be used together\n');
    return EXIT.usage;
  }
  const maxPositionals: Record<string, number> = { search: 1, sync: 1, list: 0, stats: 0, serve: 0, dedup: 0, signatures: 2, worker: 0 };
  if (command in maxPositionals && positionals.length > maxPositionals[command]) {
    const extra = positionals.slice(maxPositionals[command]);
    process.stderr.write(`retrace ${command}: unexpected argument${extra.length > 1 ? 's' : ''}: ${extra.join(' ')}\n\n${HELP}\n`);
    return EXIT.usage;
  }

  if (command === 'search') {
    // A `retrace serve` holding this embedded index answers instead (no second open, which the
    // index's lock would refuse, and no start-up of the embedded database).
    const { embeddedIndexDir } = await import('../db/open-database.js');
    const indexDir = embeddedIndexDir(db);
    if (indexDir) {
      try {
        const { searchViaServer } = await import('./local-search.js');
        const { resolve } = await import('node:path');
        const served = await searchViaServer(indexDir, resolve(positionals[0]), {
          limit,
          top,
          where,
          // Relative to this shell, not to the server.
          folder: values.folder !== undefined ? resolve(values.folder) : undefined,
          ignoreRecurring: values['ignore-recurring'] ?? false,
        });
        if (served) {
          if (!values.json) process.stderr.write(`(answered by the running retrace serve, pid ${served.pid})\n`);
          return (await import('./commands/search-command.js')).printSearchResult(served.result, { json: values.json ?? false, top });
        }
      } catch (e) {
        reportError(e, values.json ?? false);
        return exitCodeFor(e);
      }
    }
  }
  if (command !== 'serve') useBaselineWasmCompiler();
  let engine: Retrace | undefined;
  try {
    // ffmpeg's checks (three short runs that blocked the main thread 0.1-0.35 s) go on while the
    // index opens.
    if (command === 'index' || command === 'sync' || command === 'search' || command === 'signatures')
      void (await import('../core/media/ffmpeg-binaries.js')).prefetchFfmpeg();
    const { Retrace } = await import('../core/engine/retrace.js');
    engine = await Retrace.open({
      db,
      // serve --read-db: searches and listings read a replica of db.
      ...(values['read-db'] ? { readDb: values['read-db'] } : {}),
      ...(pool ? { pool } : {}),
      // Recorded in the index: every later ingest into it stores windows, or stops storing them.
      ...(storedWindows !== undefined ? { storedWindows: storedWindows === 'on' } : {}),
      // search, list, stats and remove on a mistyped --db must not answer from a new, empty index.
      create: CREATING_COMMANDS.has(command),
      // A signature needs only the descriptor: without --db it is made with no index at all.
      ...(command === 'signatures' && values.db === undefined ? { db: 'memory://' } : {}),
      // Indexing does not need PGlite's large buffer pool (same speed with 32MB, 100 MB less RSS).
      ...(command === 'index' || command === 'sync' ? { pgliteSharedBuffers: '32MB' } : {}),
    });
    switch (command) {
      case 'index':
        return await (await import('./commands/index-command.js')).indexCommand(engine, positionals, { json: values.json ?? false, metadata: meta });
      case 'sync':
        return await (
          await import('./commands/sync-command.js')
        ).syncCommand(engine, positionals[0], { json: values.json ?? false, watch: values.watch ?? false, debounceMs, metadata: meta });
      case 'search':
        return await (
          await import('./commands/search-command.js')
        ).searchCommand(engine, positionals[0], {
          json: values.json ?? false,
          limit,
          top,
          where,
          folder: values.folder,
          ignoreRecurring: values['ignore-recurring'] ?? false,
        });
      case 'dedup':
        return await (
          await import('./commands/dedup-command.js')
        ).dedupCommand(engine, { json: values.json ?? false, csv: values.csv, full: values.full ?? false, recurring: values.recurring ?? false });
      case 'signatures':
        return await (
          await import('./commands/signatures-command.js')
        ).signaturesCommand(engine, positionals, { output: values.output, json: values.json ?? false });
      case 'list':
        return await (await import('./commands/library-commands.js')).listCommand(engine, values.json ?? false);
      case 'remove':
        return await (await import('./commands/library-commands.js')).removeCommand(engine, positionals);
      case 'stats':
        return await (await import('./commands/library-commands.js')).statsCommand(engine, values.json ?? false);
      case 'worker': {
        const { workerCommand } = await import('./commands/worker-command.js');
        const e = engine;
        engine = undefined; // the worker owns it now and closes it on shutdown
        return await workerCommand(e, { concurrency: workerConcurrency });
      }
      case 'serve': {
        const { serveCommand } = await import('./commands/serve-command.js');
        const e = engine;
        engine = undefined; // the server owns it now and closes it on shutdown
        return await serveCommand(e, {
          port: values.port ? Number(values.port) : undefined,
          host: values.host,
          allowedHosts: values['allowed-host'] ?? [],
          insecureNoAuth: values['insecure-no-auth'] ?? false,
          rateLimitPerMinute: rateLimit,
          publicSearch: values['public-search'] ?? false,
          keepQueries: values['keep-queries'] ?? false,
          dataDir: values['data-dir'],
          trustProxy,
          searchConcurrency,
          indexConcurrency,
          runIndexJobs: !(values['no-worker'] ?? false),
        });
      }
    }
    return EXIT.usage;
  } catch (e) {
    reportError(e, values.json ?? false);
    return exitCodeFor(e);
  } finally {
    await engine?.close().catch(() => undefined);
  }
}

/**
 * One-shot commands (index, search, list, stats, remove) keep WebAssembly (PGlite's PostgreSQL,
 * OpenCV) on V8's baseline compiler, Liftoff: its optimising tier-up compiles the hot functions
 * of a 9 MB module again, which a process living seconds never earns back. Measured under load
 * 17 on 2 cores: indexing 150 s of real video into an existing index 278 → 181 MB peak RSS and
 * 6.3 → 5.4 s CPU; a CLI search of a 10 s clip against the corpus index 3.3 → 2.3 s CPU, 410 →
 * 360 MB. `retrace serve` lives long and keeps the optimising tier. RETRACE_WASM_TIER_UP=1 turns
 * this off. It must run before PGlite or OpenCV compiles its module.
 */
function useBaselineWasmCompiler(): void {
  if (process.env.RETRACE_WASM_TIER_UP === '1') return;
  setFlagsFromString('--liftoff-only');
}

function reportError(e: unknown, json: boolean): void {
  const err = e instanceof RetraceError ? e.toJSON() : { code: 'INTERNAL', message: (e as Error)?.message ?? String(e) };
  if (json) process.stdout.write(JSON.stringify({ error: err }) + '\n');
  process.stderr.write(`retrace: [${err.code}] ${err.message}\n`);
  if (!(e instanceof RetraceError) && process.env.RETRACE_DEBUG) process.stderr.write(`${(e as Error)?.stack}\n`);
}

/** Run directly (`node dist/src/cli/main.js …`) as well as through `bin/retrace.js`, which imports it. */
function invokedDirectly(): boolean {
  try {
    return !!process.argv[1] && realpathSync(process.argv[1]) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

if (invokedDirectly()) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (e: unknown) => {
      process.stderr.write(`retrace: ${(e as Error)?.message ?? String(e)}\n`);
      process.exitCode = 1;
    },
  );
}
