import { randomUUID } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, readdir, rm, stat, utimes } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import express, { Router, type Express, type NextFunction, type Request, type Response } from 'express';
import { ipKeyGenerator, rateLimit } from 'express-rate-limit';
import helmet from 'helmet';
import { RateLimitedError } from '../core/errors/retrace-error.js';
import type { SqlClient } from '../db/sql-client.js';
import { ApiKeyStore } from '../core/auth/api-keys.js';
import { JobQueue } from '../core/jobs/job-queue.js';
import { JobStore, type JobRecord } from '../core/jobs/job-store.js';
import { settleIndexJobFile } from '../core/jobs/index-job-files.js';
import { HttpError, errorHandler } from './errors.js';
import { authenticate, clientId, hostCheck, needs } from './auth.js';
import { localRouter } from './routes-local.js';
import { Limiter, type ServerContext } from './context.js';
import { createServerMetrics } from './metrics.js';
import { jobsRouter } from './routes-jobs.js';
import { uploadsRouter } from './routes-uploads.js';
import { isInside, videosRouter } from './routes-videos.js';
import { libraryRouter } from './routes-library.js';
import { UploadStore } from './upload-store.js';
import { DEFAULT_INDEX_CONCURRENCY, DEFAULT_SEARCH_CONCURRENCY, DEFAULT_SERVER_LIMITS, freeDiskBytes } from './limits.js';
import { SqlRateLimitStore } from './rate-limit-store.js';
import { MediaLedger } from '../core/jobs/media-ledger.js';
import { redactPaths } from './redact.js';
import type { ServerEngine, ServerOptions } from './types.js';

const MiB = 1024 * 1024;

/** The Express app plus its lifecycle. Mount it anywhere (`parent.use('/retrace', app)`); the page uses relative URLs. */
export type RetraceServerApp = Express & {
  /** Resolves once directories exist, uploads are reloaded and interrupted jobs are recovered. */
  readonly ready: Promise<void>;
  readonly jobs: JobQueue;
  readonly uploads: UploadStore;
  /** The API keys in the engine's database (create one and the API requires keys). */
  readonly keys: ApiKeyStore;
  readonly dataDir: string;
  /** Stop background work: end event streams, put running jobs back in the queue. Does not close the engine. */
  shutdown(): Promise<void>;
};

/**
 * Where the server keeps files when `dataDir` is not given: beside the database, so one index
 * and its files stay together wherever the server is started from. An embedded database DIR
 * gets DIR-server next to it (not inside: the directory is PGlite's); a PostgreSQL database gets
 * a folder named after its host, port and database under $XDG_DATA_HOME/retrace (default
 * ~/.local/share/retrace), since it has no directory on this machine.
 */
export function defaultServerDataDir(sql: Pick<SqlClient, 'dialect' | 'location'>): string {
  if (sql.dialect === 'pglite') return sql.location === 'memory://' ? resolve('.retrace-server') : `${resolve(sql.location)}-server`;
  let name = 'postgres';
  try {
    const u = new URL(sql.location);
    name = `${u.hostname || 'localhost'}_${u.port || '5432'}_${decodeURIComponent(u.pathname.replace(/^\//, '')) || 'postgres'}`;
  } catch {
    /* keep the generic name */
  }
  const base = process.env.XDG_DATA_HOME || join(homedir(), '.local', 'share');
  return join(base, 'retrace', `server-${name.replace(/[^A-Za-z0-9._-]/g, '_')}`);
}

/** The folder holding index.html, app.js and style.css, from `src/` (tests) or `dist/src/` (built). */
export function resolvePublicDir(override?: string): string | null {
  const candidates = [
    override,
    fileURLToPath(new URL('./public/', import.meta.url)),
    // Built with tsc (dist/src/server/): the assets stay in the source tree unless the build copies them.
    fileURLToPath(new URL('../../../src/server/public/', import.meta.url)),
  ].filter((c): c is string => !!c);
  for (const c of candidates) if (existsSync(join(c, 'index.html'))) return c;
  return null;
}

/** node_modules/uppy/dist (uppy.min.mjs, uppy.min.css), wherever npm put the package. */
function uppyDistDir(): string | null {
  try {
    const dir = join(dirname(createRequire(import.meta.url).resolve('uppy/package.json')), 'dist');
    return existsSync(join(dir, 'uppy.min.mjs')) ? dir : null;
  } catch {
    return null;
  }
}

function packageVersion(): string {
  for (const rel of ['../../package.json', '../../../package.json']) {
    try {
      const pkg = JSON.parse(readFileSync(fileURLToPath(new URL(rel, import.meta.url)), 'utf8')) as { name?: string; version?: string };
      if (pkg.name === '@retrace-video/retrace' && pkg.version) return pkg.version;
    } catch {
      /* try the next */
    }
  }
  return '0.0.0';
}

/**
 * helmet with retrace's own CSP. Not helmet's default CSP: its `upgrade-insecure-requests`
 * would break the page served over plain HTTP on a LAN address. No HSTS: retrace does not
 * terminate TLS; the proxy that does decides.
 */
const securityHeaders = helmet({
  contentSecurityPolicy: {
    useDefaults: false,
    directives: {
      defaultSrc: ["'self'"],
      imgSrc: ["'self'", 'data:', 'blob:'],
      mediaSrc: ["'self'", 'blob:'],
      styleSrc: ["'self'"],
      scriptSrc: ["'self'"],
      connectSrc: ["'self'"],
      objectSrc: ["'none'"],
      frameAncestors: ["'self'"],
      baseUri: ["'none'"],
      formAction: ["'self'"],
    },
  },
  strictTransportSecurity: false,
  referrerPolicy: { policy: 'no-referrer' },
});

/**
 * Build the HTTP API and web page over an open engine. The engine stays the caller's: close
 * it after `app.shutdown()`.
 */
export function createServer(engine: ServerEngine, options: ServerOptions = {}): RetraceServerApp {
  const logger = options.logger;
  const log =
    options.log ??
    (logger
      ? (m: string, e?: unknown) => logger.error(e === undefined ? {} : { err: e }, m)
      : (m: string, e?: unknown) => console.error(`[retrace server] ${m}`, e ?? ''));
  const root = resolve(options.dataDir ?? defaultServerDataDir(engine.sql));
  const dirs = { root, uploads: join(root, 'uploads'), media: join(root, 'media'), queries: join(root, 'queries') };
  const settings = {
    maxFileBytes: options.maxFileBytes ?? 4 * 1024 * MiB,
    chunkBytes: options.chunkBytes ?? 8 * MiB,
    queryTtlMs: options.queryTtlMs ?? 60 * 60 * 1000,
    jobRetentionMs: options.jobRetentionMs ?? 7 * 24 * 60 * 60 * 1000,
    searchLimit: options.searchLimit ?? 10,
    maxJobsPerClient: options.maxJobsPerClient ?? DEFAULT_SERVER_LIMITS.maxJobsPerClient,
    maxClientStoredBytes: options.maxClientStoredBytes ?? DEFAULT_SERVER_LIMITS.maxClientStoredBytes,
    keepQueries: options.keepQueries ?? false,
  };
  const rateLimitPerMinute = options.rateLimitPerMinute ?? DEFAULT_SERVER_LIMITS.rateLimitPerMinute;
  const metrics = createServerMetrics();
  const uploads = new UploadStore(
    dirs.uploads,
    {
      maxFileBytes: settings.maxFileBytes,
      maxUploadsPerClient: options.maxUploadsPerClient ?? DEFAULT_SERVER_LIMITS.maxUploadsPerClient,
      maxClientUploadBytes: options.maxClientUploadBytes ?? DEFAULT_SERVER_LIMITS.maxClientUploadBytes,
      minFreeDiskBytes: options.minFreeDiskBytes ?? DEFAULT_SERVER_LIMITS.minFreeDiskBytes,
      ttlMs: options.uploadTtlMs ?? 24 * 60 * 60 * 1000,
    },
    freeDiskBytes,
  );
  const rateStore = new SqlRateLimitStore(engine.sql);
  const store = new JobStore(engine.sql);
  const keys = new ApiKeyStore(engine.sql);
  const media = new MediaLedger(engine.sql);

  const onSettled = async (job: JobRecord) => {
    const path = job.input.path;
    if (!job.input.ownsFile || !path) return;
    if (job.kind === 'index') {
      await settleIndexJobFile(job, media);
      // Nothing to look at later; a failed upload leaves nothing behind.
      if (job.stage === 'failed' && typeof job.input.uploadId === 'string') await uploads.remove(job.input.uploadId).catch(() => {});
    } else if (job.stage !== 'failed' && settings.keepQueries) {
      // Kept `queryTtlMs` from now for query thumbnails, then swept.
      const now = new Date();
      await utimes(path, now, now).catch(() => {});
    } else {
      // Queries are the most sensitive thing a server holds: gone once answered (or failed).
      await rm(path, { force: true });
    }
  };

  const jobs = new JobQueue({
    store,
    engine,
    searchConcurrency: options.searchConcurrency ?? DEFAULT_SEARCH_CONCURRENCY,
    indexConcurrency: options.indexConcurrency ?? DEFAULT_INDEX_CONCURRENCY,
    lanes: options.runIndexJobs === false ? ['search'] : undefined,
    maxAttempts: options.jobMaxAttempts,
    retryBaseMs: options.jobRetryBaseMs,
    maxQueued: options.maxQueuedJobs ?? DEFAULT_SERVER_LIMITS.maxQueuedJobs,
    onSettled,
    log,
    onStageTiming: (kind, stage, ms) => metrics.jobStage.observe({ kind, stage }, ms / 1000),
    onFinished: (kind, outcome, ms) => metrics.jobDuration.observe({ kind, outcome }, ms / 1000),
  });

  const ctx: ServerContext = {
    engine,
    uploads,
    jobs,
    metrics,
    dirs,
    settings,
    log,
    keys,
    media,
    thumbnails: new Limiter(options.thumbnailConcurrency ?? 2),
    streams: new Set(),
    startedAt: Date.now(),
  };

  metrics.registry.gauge('retrace_jobs', 'Jobs in this process by state', () => {
    const c = jobs.counts();
    return [
      { labels: { state: 'running' }, value: c.running },
      { labels: { state: 'queued' }, value: c.queued },
    ];
  });
  metrics.registry.gauge('retrace_uploads_active', 'Uploads receiving bytes', () => uploads.activeCount());
  metrics.registry.gauge('retrace_sse_streams', 'Open Server-Sent Event streams', () => ctx.streams.size);
  metrics.registry.gauge('process_resident_memory_bytes', 'Resident memory', () => process.memoryUsage().rss);
  metrics.registry.gauge('retrace_uptime_seconds', 'Seconds since the server started', () => (Date.now() - ctx.startedAt) / 1000);

  let sweepTimer: NodeJS.Timeout | undefined;
  const sweepQueries = async () => {
    let names: string[];
    try {
      names = await readdir(dirs.queries);
    } catch {
      return;
    }
    const cutoff = Date.now() - settings.queryTtlMs;
    let inUse: Set<string> | null = null;
    for (const name of names) {
      const p = join(dirs.queries, name);
      try {
        if ((await stat(p)).mtimeMs > cutoff) continue;
        inUse ??= await store.unfinishedInputPaths();
        if (!inUse.has(p)) await rm(p, { force: true });
      } catch (err) {
        log(`could not sweep ${p}`, err);
      }
    }
  };
  const sweep = async () => {
    try {
      await uploads.sweep();
      await sweepQueries();
      await jobs.store.deleteFinishedBefore(new Date(Date.now() - settings.jobRetentionMs));
      // A `retrace index` on the same database killed mid-ingest left a video nobody else removes.
      await engine.discardAbandonedIngests?.();
      await rateStore.prune();
    } catch (err) {
      log('sweep failed', err);
    }
  };

  const ready = (async () => {
    await mkdir(dirs.media, { recursive: true });
    await mkdir(dirs.queries, { recursive: true });
    await uploads.init();
    await jobs.start();
    void sweep();
    sweepTimer = setInterval(() => void sweep(), options.sweepIntervalMs ?? 60_000);
    sweepTimer.unref();
  })();
  // Route handlers await `ready`; keep an early failure from being an unhandled rejection.
  ready.catch((err) => log('startup failed', err));

  const app = express();
  app.disable('x-powered-by');
  // Behind a reverse proxy, req.ip (per-IP limits, anonymous clients) must be the client's, not the proxy's.
  if (options.trustProxy !== undefined) app.set('trust proxy', options.trustProxy);
  app.set('etag', 'strong');

  // Request latency by route pattern (never raw URLs: ids would explode the label set), and a
  // request id: the client's X-Request-Id when it is a sane token (a proxy's), else a new one,
  // sent back and in every log line of the request.
  app.use((req: Request, res: Response, next: NextFunction) => {
    const start = process.hrtime.bigint();
    const given = req.get('x-request-id');
    const requestId = given && /^[A-Za-z0-9._:-]{1,64}$/.test(given) ? given : randomUUID();
    res.locals.requestId = requestId;
    res.setHeader('X-Request-Id', requestId);
    const routeOf = () => {
      const matched = res.locals.routeBase !== undefined && req.route?.path;
      return matched ? `${res.locals.routeBase}${req.route.path}` : res.statusCode === 404 ? 'unmatched' : 'static';
    };
    res.on('finish', () => {
      const seconds = Number(process.hrtime.bigint() - start) / 1e9;
      const route = routeOf();
      metrics.httpRequests.observe({ method: req.method, route, status: String(res.statusCode) }, seconds);
      logger?.info({ reqId: requestId, method: req.method, route, status: res.statusCode, ms: Math.round(seconds * 1000) }, 'request');
    });
    // Closed before the answer was complete: the client went away, which is not an error.
    res.on('close', () => {
      if (!res.writableFinished) logger?.info({ reqId: requestId, method: req.method, route: routeOf(), aborted: true }, 'client closed the connection');
    });
    next();
  });
  app.use(hostCheck(options.allowedHosts ?? []));
  app.use(securityHeaders);

  const api = Router();
  api.use(async (req, res, next) => {
    // Express resets baseUrl once the router is left; keep it for the metrics label.
    res.locals.routeBase = req.baseUrl;
    await ready;
    next();
  });
  api.use(express.json({ limit: '16kb' }));

  api.get('/health', async (_req, res) => {
    let db = 'ok';
    if (!(await engine.isDatabaseReachable())) db = 'unreachable';
    // A replica that does not answer degrades searches, not the server: reported, not a 503.
    const replica =
      engine.readSql && engine.replicaLagSec
        ? await engine.replicaLagSec().then(
            (lagSec) => ({ status: 'ok', lagSec }),
            () => ({ status: 'unreachable', lagSec: null }),
          )
        : null;
    res.setHeader('Cache-Control', 'no-store');
    res.status(db === 'ok' ? 200 : 503).json({
      status: db === 'ok' ? 'ok' : 'degraded',
      version: packageVersion(),
      uptimeSec: Math.round((Date.now() - ctx.startedAt) / 1000),
      // Not the location: a directory or host name of the server is nobody's business over HTTP.
      db: { status: db, store: engine.sql.dialect, ...(replica ? { replica } : {}) },
      jobs: jobs.counts(),
      // The page's uploader sends tus PATCH requests of this size.
      uploads: { active: uploads.activeCount(), chunkBytes: settings.chunkBytes },
      // The page asks for a key on a 401 unless anonymous searching is allowed.
      access: { keys: await keys.anyExist(), publicSearch: options.publicSearch === true },
    });
  });

  // Everything below needs a key once one exists (with publicSearch, anonymous clients may search).
  // Requests refused for a missing or wrong key count per IP address against the same limit, so
  // a client without a key is limited too (and guessing keys costs it the same budget).
  const refusedStore = new SqlRateLimitStore(engine.sql, 'rl-refused:', 60_000);
  const onRefused = async (req: Request, res: Response) => {
    if (rateLimitPerMinute <= 0) return;
    const { totalHits, resetTime } = await refusedStore.increment(`ip:${ipKeyGenerator(req.ip ?? req.socket.remoteAddress ?? 'unknown')}`);
    if (totalHits <= rateLimitPerMinute) return;
    res.setHeader('Retry-After', String(Math.max(1, Math.ceil(((resetTime?.getTime() ?? Date.now()) - Date.now()) / 1000))));
    throw new RateLimitedError(rateLimitPerMinute, 60);
  };
  // A search handed over by the CLI on this machine carries the handoff token instead of a key.
  if (options.localToken) api.use(localRouter(engine, options.localToken));
  api.use(authenticate(keys, { publicSearch: options.publicSearch ?? false, onRefused }));
  if (rateLimitPerMinute > 0) {
    // After authentication, so a key's requests count against the key wherever they come from;
    // /api/health (above) is exempt, so monitoring never trips it.
    api.use(
      rateLimit({
        windowMs: 60_000,
        limit: rateLimitPerMinute,
        store: rateStore,
        keyGenerator: (req, res) => clientId(req, res),
        standardHeaders: 'draft-8',
        legacyHeaders: false,
        handler: (_req, _res, next) => next(new RateLimitedError(rateLimitPerMinute, 60)),
      }),
    );
  }

  api.get('/stats', needs('index', 'Reading library statistics'), async (_req, res) => {
    const [engineStats, unfinished] = await Promise.all([engine.stats(), store.countUnfinished()]);
    res.setHeader('Cache-Control', 'no-store');
    res.json({
      engine: redactPaths(engineStats),
      jobs: { ...unfinished, runningHere: jobs.counts().running, lanes: jobs.counts().lanes },
      uploads: { active: uploads.activeCount(), completed: uploads.completedCount() },
      limits: {
        maxFileBytes: settings.maxFileBytes,
        chunkBytes: settings.chunkBytes,
        maxUploadsPerClient: uploads.limits.maxUploadsPerClient,
        maxClientUploadBytes: uploads.limits.maxClientUploadBytes,
        maxJobsPerClient: settings.maxJobsPerClient,
        maxClientStoredBytes: settings.maxClientStoredBytes,
        rateLimitPerMinute,
      },
      uptimeSec: Math.round((Date.now() - ctx.startedAt) / 1000),
    });
  });

  api.use(uploadsRouter(ctx));
  api.use(jobsRouter(ctx));
  api.use(videosRouter(ctx));
  api.use(libraryRouter(ctx));
  api.use((req) => {
    throw new HttpError(404, 'NOT_FOUND', `No API route ${req.method} ${req.baseUrl}${req.path}`);
  });
  app.use('/api', api);

  app.get('/metrics', authenticate(keys), needs('admin', 'Reading metrics'), (req, res) => {
    res.locals.routeBase = req.baseUrl;
    res.setHeader('Content-Type', 'text/plain; version=0.0.4; charset=utf-8');
    res.setHeader('Cache-Control', 'no-store');
    res.send(metrics.registry.render());
  });

  if (options.serveWebPage !== false) {
    const publicDir = resolvePublicDir(options.publicDir);
    if (publicDir) {
      // Uppy's browser bundle, from the installed package: no CDN, same origin (the CSP allows only 'self').
      const uppy = uppyDistDir();
      if (uppy) app.use('/vendor/uppy', express.static(uppy, { maxAge: '1d', etag: true, dotfiles: 'ignore', redirect: false, index: false }));
      else log('Uppy (package uppy) not found; the page cannot upload');
      app.use(express.static(publicDir, { index: 'index.html', maxAge: 0, etag: true, dotfiles: 'ignore', redirect: false }));
    } else {
      log('web page assets not found; serving the API only');
    }
  }

  app.use((req: Request) => {
    throw new HttpError(404, 'NOT_FOUND', `Nothing at ${req.method} ${req.originalUrl}`);
  });
  app.use(errorHandler(log, logger));

  let closing: Promise<void> | null = null;
  const shutdown = () => {
    closing ??= (async () => {
      clearInterval(sweepTimer);
      for (const s of [...ctx.streams]) s.end();
      await ready.catch(() => {});
      await jobs.close();
    })();
    return closing;
  };

  return Object.assign(app, { ready, jobs, uploads, keys, dataDir: root, shutdown }) as RetraceServerApp;
}

export { isInside };
