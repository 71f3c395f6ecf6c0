import type { Retrace } from '../../core/engine/retrace.js';
import { pino } from 'pino';
import { SERVE_RATE_LIMIT_PER_MINUTE } from '../../server/limits.js';
import { isLoopbackAddress, startServer } from '../../server/start.js';
import { newLocalToken, writeHandoff } from '../../server/local-handoff.js';
import { embeddedIndexDir } from '../../db/open-database.js';
import { EXIT } from '../exit-codes.js';

/** `retrace serve`: the HTTP API and web page over the engine, until SIGINT/SIGTERM. */
export async function serveCommand(
  engine: Retrace,
  options: {
    port?: number;
    host?: string;
    allowedHosts?: readonly string[];
    insecureNoAuth?: boolean;
    rateLimitPerMinute?: number;
    publicSearch?: boolean;
    keepQueries?: boolean;
    dataDir?: string;
    trustProxy?: number;
    searchConcurrency?: number;
    indexConcurrency?: number;
    /** false: `--no-worker`, index jobs are left to `retrace worker` processes. */
    runIndexJobs?: boolean;
  },
): Promise<number> {
  if (options.port !== undefined && (!Number.isInteger(options.port) || options.port < 0 || options.port > 65535)) {
    process.stderr.write('--port must be a whole number from 0 to 65535\n');
    await engine.close();
    return EXIT.usage;
  }
  // JSON lines on stderr (stdout keeps the human-readable start-up line scripts wait for).
  const logger = pino({ level: process.env.RETRACE_LOG_LEVEL || 'info', base: { name: 'retrace' } }, pino.destination({ fd: 2, sync: false }));
  // On an embedded index, a `retrace search` on this machine hands its query over (local-handoff.ts).
  const indexDir = embeddedIndexDir(engine.sql.location);
  const localToken = indexDir ? newLocalToken() : undefined;
  let running;
  try {
    running = await startServer({
      engine,
      localToken,
      logger,
      port: options.port,
      host: options.host,
      allowedHosts: options.allowedHosts,
      insecureNoAuth: options.insecureNoAuth,
      rateLimitPerMinute: options.rateLimitPerMinute ?? SERVE_RATE_LIMIT_PER_MINUTE,
      publicSearch: options.publicSearch,
      keepQueries: options.keepQueries,
      dataDir: options.dataDir,
      searchConcurrency: options.searchConcurrency,
      indexConcurrency: options.indexConcurrency,
      runIndexJobs: options.runIndexJobs,
      // 0 (the default) leaves Express's default: the proxy headers are not trusted.
      ...(options.trustProxy ? { trustProxy: options.trustProxy } : {}),
    });
  } catch (e) {
    // main() reports the error; the engine is ours to close.
    await engine.close().catch(() => undefined);
    throw e;
  }
  const removeHandoff =
    indexDir && localToken && isLoopbackAddress(running.host) ? await writeHandoff(indexDir, { url: running.url, token: localToken }) : null;
  const keyed = await running.app.keys.anyExist();
  const auth = !keyed
    ? 'no API keys: open to anyone who can reach it'
    : options.publicSearch
      ? 'API keys required, but anyone may search'
      : 'API keys required';
  const ingest = options.runIndexJobs === false ? '; index jobs left to workers' : '';
  process.stdout.write(`retrace is serving ${running.url} (database: ${engine.sql.location}; files: ${running.app.dataDir}; ${auth}${ingest})\n`);
  if (options.publicSearch && !keyed)
    process.stderr.write('note: --public-search changes nothing until a key exists: without keys everyone may do everything\n');
  if (['0.0.0.0', '::'].includes(running.host) && !options.allowedHosts?.length) {
    // Clients reach a wildcard address by some name or address the server cannot know.
    process.stderr.write(
      'note: only requests addressed to localhost or 127.0.0.1 are answered; add --allowed-host NAME for each name or address clients use\n',
    );
  }
  await new Promise<void>((resolve) => {
    const stop = () => resolve();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  process.stdout.write('shutting down…\n');
  await removeHandoff?.();
  await running.close();
  await engine.close();
  logger.flush();
  return EXIT.ok;
}
