import { createServer as createHttpServer, type Server } from 'node:http';
import { isIP, type AddressInfo } from 'node:net';
import { ApiKeyStore } from '../core/auth/api-keys.js';
import { InsecureServerError } from '../core/errors/retrace-error.js';
import { createServer, type RetraceServerApp } from './app.js';
import type { ServerEngine, ServerOptions } from './types.js';

export interface StartServerOptions extends ServerOptions {
  engine: ServerEngine;
  /** Default 8080; 0 picks a free port. */
  port?: number;
  /**
   * Default 127.0.0.1 (local only); use 0.0.0.0 to listen on every interface. Any address but
   * a loopback one needs an API key in the database first (or `insecureNoAuth`).
   */
  host?: string;
  /** Listen on a non-loopback address even though no API key exists: anyone reaching it may do anything. */
  insecureNoAuth?: boolean;
}

/** Whether `host` only accepts connections from this machine. */
export function isLoopbackAddress(host: string): boolean {
  const h = host
    .trim()
    .toLowerCase()
    .replace(/^\[|\]$/g, '');
  if (h === 'localhost' || h.endsWith('.localhost') || h === '::1') return true;
  if (isIP(h) === 4) return h.startsWith('127.');
  // IPv4-mapped IPv6 (::ffff:127.0.0.1).
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(h);
  return !!mapped && mapped[1].startsWith('127.');
}

export interface RunningServer {
  app: RetraceServerApp;
  server: Server;
  host: string;
  port: number;
  /** e.g. http://127.0.0.1:8080/ */
  url: string;
  /** Stop listening, end event streams, requeue running jobs. Does not close the engine. */
  close(): Promise<void>;
}

/** Create the app, wait until it has recovered its jobs and uploads, and listen. For `retrace serve`. */
export async function startServer(options: StartServerOptions): Promise<RunningServer> {
  const { engine, port = 8080, host = '127.0.0.1', insecureNoAuth = false, ...rest } = options;
  // Refuse before anything starts: on a reachable address without keys, anyone could delete
  // videos and read everyone's queries.
  if (!isLoopbackAddress(host) && !insecureNoAuth && !(await new ApiKeyStore(engine.sql).anyExist())) {
    throw new InsecureServerError(host);
  }
  // A specific address is a name clients may use in Host; the wildcards are not.
  const bound = isIP(host) && !['0.0.0.0', '::'].includes(host) ? [isIP(host) === 6 ? `[${host}]` : host] : [];
  const app = createServer(engine, { ...rest, allowedHosts: [...(rest.allowedHosts ?? []), ...bound] });
  await app.ready;
  const server = createHttpServer(app);
  // A tus PATCH may take a while on slow links; event streams stay open indefinitely.
  server.requestTimeout = 15 * 60 * 1000;
  server.headersTimeout = 60 * 1000;
  await new Promise<void>((resolve, reject) => {
    const onError = (err: Error) => {
      server.off('listening', onListening);
      reject(err);
    };
    const onListening = () => {
      server.off('error', onError);
      resolve();
    };
    server.once('error', onError);
    server.once('listening', onListening);
    server.listen(port, host);
  });
  const addr = server.address() as AddressInfo;
  const shownHost = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
  let closing: Promise<void> | null = null;
  return {
    app,
    server,
    host: addr.address,
    port: addr.port,
    url: `http://${shownHost}:${addr.port}/`,
    close() {
      closing ??= (async () => {
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        await app.shutdown();
        server.closeIdleConnections();
        const force = setTimeout(() => server.closeAllConnections(), 2000);
        force.unref();
        await closed;
        clearTimeout(force);
      })();
      return closing;
    },
  };
}
