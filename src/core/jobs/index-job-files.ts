import { rm, stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { IndexResult } from '../engine/types.js';
import type { JobRecord } from './job-store.js';
import type { MediaLedger } from './media-ledger.js';

/**
 * Tidy the file of an index job that has ended, in whichever process ran it (the server, or a
 * worker sharing its data directory). Only files the job owns (`input.ownsFile`: uploads) are
 * touched: a failed ingest's file is deleted, as is a duplicate's (the copy indexed first is
 * kept); a new video's file is kept and counted against the client that sent it.
 */
export async function settleIndexJobFile(job: JobRecord, media: MediaLedger): Promise<void> {
  const path = job.input.path;
  if (job.kind !== 'index' || !job.input.ownsFile || !path) return;
  if (job.stage === 'failed') {
    await rm(path, { force: true });
    return;
  }
  const result = job.result as IndexResult | null;
  if (result?.video?.path && resolve(result.video.path) !== resolve(path)) await rm(path, { force: true });
  else if (result?.videoId && typeof job.input.client === 'string') {
    const bytes = await stat(path).then(
      (s) => s.size,
      () => 0,
    );
    await media.record(result.videoId, job.input.client, bytes);
  }
}
