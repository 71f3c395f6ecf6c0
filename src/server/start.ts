import { createServer as createHttpServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createServer, type RetraceServerApp } from './app.js';
import type { ServerEngine, ServerOptions } from './types.js';

export interface StartServerOptions extends ServerOptions {
  engine: ServerEngine;
  /** Default 8080; 0 picks a free port. */
  port?: number;
  /** Default 127.0.0.1 (local only); use 0.0.0.0 to listen on every interface. */
  host?: string;
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
  const { engine, port = 8080, host = '127.0.0.1', ...rest } = options;
  const app = createServer(engine, rest);
  await app.ready;
  const server = createHttpServer(app);
  // Chunks may take a while on slow links; event streams stay open indefinitely.
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
