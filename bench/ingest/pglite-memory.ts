/**
 * Memory experiment for the embedded store: ingest one file with retrace's own pipeline
 * (`ingestVideo`, `FrameStore`, migrations) into a PGlite opened with chosen settings, to measure
 * how PostgreSQL's buffer settings inside PGlite set the process's peak RSS. The engine itself
 * opens PGlite with the package defaults (shared_buffers 128MB); this shows what a change in
 * src/db/pglite-client.ts would buy, without editing it.
 *
 * Run one configuration per process (RSS is per process):
 *
 *   node dist/bench/ingest/pglite-memory.js --input long.mp4 --shared-buffers 32MB [--json out.json]
 *
 * measures a new index (PGlite's initdb runs in the measured process). To measure indexing into
 * an existing index, create it in a first process and ingest in a second:
 *
 *   node dist/bench/ingest/pglite-memory.js --create-only --data-dir /tmp/idx --shared-buffers 32MB
 *   node dist/bench/ingest/pglite-memory.js --input long.mp4 --data-dir /tmp/idx --shared-buffers 32MB
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { vector } from '@electric-sql/pglite-pgvector';

import { BuiltinDescriptor, DEFAULT_LIMITS, DEFAULT_SAMPLING } from '../../src/index.js';
import { DEFAULT_EVIDENCE } from '../../src/core/search/evidence.js';
import type { Progress } from '../../src/index.js';
import { ingestVideo } from '../../src/core/engine/ingest.js';
import { DEFAULT_ANN, FrameStore } from '../../src/db/frame-store.js';
import { migrate } from '../../src/db/migrations.js';
import { pgliteExecutor } from '../../src/db/pglite-client.js';
import type { SqlClient } from '../../src/db/sql-client.js';
import { parseFlags } from '../common/args.js';
import { writeJsonReport } from '../common/json.js';
import { MemorySampler, readProcStatus } from '../common/memory.js';

/** PGlite's default start parameters (0.5.x) plus our overrides. */
const PGLITE_DEFAULT_START = [
  '--single',
  '-F',
  '-O',
  '-j',
  '-c',
  'search_path=public',
  '-c',
  'exit_on_error=false',
  '-c',
  'log_checkpoints=false',
  '-c',
  'max_worker_processes=0',
  '-c',
  'max_parallel_workers=0',
  '-c',
  'max_parallel_workers_per_gather=0',
  '-c',
  'io_method=sync',
  '-c',
  'max_parallel_maintenance_workers=0',
];

async function openPglite(dir: string, settings: Record<string, string>, relaxedDurability = false): Promise<{ db: PGlite; client: SqlClient }> {
  const extra = Object.entries(settings).flatMap(([k, v]) => ['-c', `${k}=${v}`]);
  const db = await PGlite.create(dir, { extensions: { vector }, startParams: [...PGLITE_DEFAULT_START, ...extra], relaxedDurability });
  const ex = pgliteExecutor(db);
  const client: SqlClient = {
    dialect: 'pglite',
    location: dir,
    query: (t, p) => ex.query(t, p),
    exec: (s) => ex.exec(s),
    transaction: (fn) => db.transaction((tx) => fn(pgliteExecutor(tx))),
    databaseBytes: async () => 0,
    close: () => db.close(),
  };
  return { db, client };
}

export async function pgliteMemoryExperiment(opts: {
  input: string;
  settings: Record<string, string>;
  /** Use this data directory (kept afterwards); default a temporary one, removed. */
  dataDir?: string;
  /** Only create the database (migrations, descriptor, HNSW indexes) and stop: run in a first process so a second one measures indexing into an existing index. */
  createOnly?: boolean;
  /** PGlite's relaxedDurability (do not wait for the file system after each query). */
  relaxedDurability?: boolean;
  log: (s: string) => void;
}) {
  const tmp = opts.dataDir ? null : await mkdtemp(join(tmpdir(), 'retrace-pglite-mem-'));
  const dataDir = opts.dataDir ?? join(tmp!, 'index');
  const existing = !!opts.dataDir && existsSync(join(dataDir, 'PG_VERSION'));
  const descriptor = new BuiltinDescriptor();
  try {
    if (opts.createOnly) {
      const pre = await openPglite(dataDir, opts.settings);
      await migrate(pre.client);
      await new FrameStore(pre.client, DEFAULT_ANN).bindDescriptor(descriptor.id, descriptor.dimensions);
      await pre.client.close();
      opts.log(`created ${dataDir}`);
      return null;
    }
    const rssBeforeOpen = process.memoryUsage().rss / 2 ** 20;
    const { client } = await openPglite(dataDir, opts.settings, opts.relaxedDurability);
    await migrate(client);
    const store = new FrameStore(client, DEFAULT_ANN);
    await store.bindDescriptor(descriptor.id, descriptor.dimensions);
    const rssAfterOpen = process.memoryUsage().rss / 2 ** 20;
    const mem = new MemorySampler({ intervalMs: 100, childNames: ['ffmpeg', 'ffprobe'] }).start();
    let events = 0;
    let lastLog = performance.now();
    const t0 = performance.now();
    const r = await ingestVideo(
      { store, descriptor, limits: DEFAULT_LIMITS, sampling: DEFAULT_SAMPLING, batchSize: 32, minQuality: DEFAULT_EVIDENCE.minQuality },
      opts.input,
      {
        onProgress: (p: Progress) => {
          events++;
          if (performance.now() - lastLog > 30_000) {
            lastLog = performance.now();
            opts.log(`  ${(p.fraction * 100).toFixed(0)}% ${p.stage}, rss ${(process.memoryUsage().rss / 2 ** 20).toFixed(0)} MB`);
          }
        },
      },
    );
    const m = mem.stop();
    await client.close();
    const out = {
      input: opts.input,
      settings: opts.settings,
      relaxedDurability: !!opts.relaxedDurability,
      existing,
      frames: r.frames,
      durationSec: r.durationSec,
      wallSec: (performance.now() - t0) / 1000,
      progressEvents: events,
      rssBeforeOpenMb: rssBeforeOpen,
      rssAfterOpenMb: rssAfterOpen,
      peakRssSampledMb: m.peakRssSampledMb,
      vmHwmMb: readProcStatus('self')?.hwmMb ?? null,
      peakFfmpegMb: m.peakChildMb,
      timingsMs: r.timingsMs,
    };
    opts.log(JSON.stringify(out));
    return out;
  } finally {
    if (tmp) await rm(tmp, { recursive: true, force: true });
  }
}

const isMain = process.argv[1] && /pglite-memory\.(js|ts)$/.test(process.argv[1]);
if (isMain) {
  const p = parseFlags(process.argv.slice(2), { values: ['input', 'shared-buffers', 'json', 'data-dir'], switches: ['create-only', 'relaxed-durability'] });
  const input = p.values.get('input') ?? '';
  if (!input && !p.switches.has('create-only')) {
    console.error('--input FILE is required');
    process.exit(2);
  }
  const settings: Record<string, string> = {};
  if (p.values.get('shared-buffers')) settings.shared_buffers = p.values.get('shared-buffers')!;
  pgliteMemoryExperiment({
    input,
    settings,
    dataDir: p.values.get('data-dir'),
    createOnly: p.switches.has('create-only'),
    relaxedDurability: p.switches.has('relaxed-durability'),
    log: (s) => console.log(s),
  }).then(
    async (r) => {
      if (r && p.values.get('json')) await writeJsonReport(p.values.get('json')!, r);
      process.exit(0);
    },
    (e: unknown) => {
      console.error(e);
      process.exit(1);
    },
  );
}
