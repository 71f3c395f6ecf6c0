/**
 * retrace HTTP server: a thin shell over the library. `createServer(engine, options)` returns an
 * Express app (mount it in your own app if you like); `startServer` is what `retrace serve` runs.
 */
export { createServer, resolvePublicDir, type RetraceServerApp } from './app.js';
export { startServer, isLoopbackAddress, type RunningServer, type StartServerOptions } from './start.js';
export { LOOPBACK_HOSTS, hostName } from './auth.js';
export type { ServerEngine, ServerOptions } from './types.js';
export { HTTP_STATUS, HttpError, describeError, type ErrorBody } from './errors.js';
export { MetricsRegistry, Histogram, Counter, Gauge } from './metrics.js';
export { UploadStore, type UploadState, type UploadPurpose } from './upload-store.js';
export { sniffBytes, sniffFile, type SniffResult } from './sniff.js';
