/**
 * retrace: reverse search for video. Index videos, then give it a clip or a picture and it
 * tells you which indexed videos contain a copy and exactly where.
 *
 * @example
 * import { Retrace } from '@retrace-video/retrace';
 * const engine = await Retrace.open();
 * await engine.index('movie.mp4');
 * const { matches } = await engine.search('clip.mp4');
 */
export { Retrace, DEFAULT_SEARCH } from './core/engine/retrace.js';
export type { RetraceOptions } from './core/engine/retrace.js';
export type * from './core/engine/types.js';
export type { IndexManyOptions, IndexOutcome } from './core/engine/ingest.js';
export type { QueryInput } from './core/engine/query-input.js';
export type { SyncChange, SyncError, SyncOptions, SyncSummary } from './core/library/folder-sync.js';
export type { WatchOptions } from './core/library/folder-watch.js';
/** Duplicate clusters (`Retrace.dedup`): relations between videos that share footage, and the clusters they form. */
export { CONTAINED_COVERAGE, relationType } from './core/library/dedup.js';
export type { DedupCluster, DedupOptions, DedupRelation, DedupReport, DedupVideo, RelationType, SharedSegment } from './core/library/dedup.js';
/** Recurring segments (`Retrace.recurring`): intros, credits and logos found in 3 or more videos. */
export { RECURRING_MIN_VIDEOS } from './core/library/recurring-segments.js';
export type { RecurringOccurrence, RecurringSegment } from './core/library/recurring-segments.js';
/** Portable signatures (`Retrace.makeSignature`; docs/signature-format.md): decode, inspect or write them without an index. */
export { SIGNATURE_VERSION, SIGNATURE_EXTENSION, decodeSignature, encodeSignature, looksLikeSignature } from './core/signatures/signature-format.js';
export type { SignatureHeader, VideoSignature } from './core/signatures/signature-format.js';
export type { DescribedFrame } from './core/library/descriptor-search.js';
export type { RefineSettings, SearchSettings } from './core/settings/search-settings.js';
export type { VerifySettings } from './core/settings/verify-settings.js';

export * from './core/errors/retrace-error.js';

export type { FrameDescriptor } from './core/descriptors/frame-descriptor.js';
export { BuiltinDescriptor } from './core/descriptors/builtin-descriptor.js';
export { OnnxDescriptor } from './core/descriptors/onnx-descriptor.js';
export type { OnnxDescriptorOptions } from './core/descriptors/onnx-descriptor.js';
export type { Raster, Rect } from './core/frames/raster.js';

export { probeMedia } from './core/media/probe.js';
export { DEFAULT_LIMITS } from './core/settings/media-settings.js';
export type { MediaLimits } from './core/settings/media-settings.js';
export { DEFAULT_SAMPLING, sampleFrames } from './core/media/frame-sampler.js';
export type { SamplingOptions, SampledFrame } from './core/media/frame-sampler.js';
export { resolveFfmpegPaths } from './core/media/ffmpeg-binaries.js';

export { alignMatches } from './core/align/temporal-chains.js';
export { DEFAULT_ALIGN, DEFAULT_EVIDENCE } from './core/settings/search-settings.js';
export type { AlignOptions, AlignedSegment, MatchPoint } from './core/align/temporal-chains.js';

export type { SqlClient, SqlExecutor } from './db/sql-client.js';
export { openDatabase, defaultDatabaseLocation } from './db/open-database.js';

export { JobStore, isUuid } from './core/jobs/job-store.js';
export type { JobRecord, JobInput, JobKind, JobError } from './core/jobs/job-store.js';
export { JobQueue, engineRunner } from './core/jobs/job-queue.js';
export type { JobSnapshot, JobRunner, JobEngine, JobQueueOptions } from './core/jobs/job-queue.js';
export { ApiKeyStore, OPEN_ACCESS, SCOPES, canSee, isScope, requireScope, scopeAllows } from './core/auth/api-keys.js';
export type { ApiKeyInfo, CreateApiKeyInput, CreatedApiKey, Principal, Scope } from './core/auth/api-keys.js';
export { extractFrameJpeg } from './core/media/thumbnail.js';
export { detectInset } from './core/frames/inset-detection.js';
