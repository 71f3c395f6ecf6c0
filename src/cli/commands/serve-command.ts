import type { Retrace } from '../../core/engine/retrace.js';
import { startServer } from '../../server/start.js';
import { EXIT } from '../exit-codes.js';

/** `retrace serve`: the HTTP API and web page over the engine, until SIGINT/SIGTERM. */
export async function serveCommand(engine: Retrace, options: { port?: number; host?: string }): Promise<number> {
  if (options.port !== undefined && (!Number.isInteger(options.port) || options.port < 0 || options.port > 65535)) {
    process.stderr.write('--port must be a whole number from 0 to 65535\n');
    await engine.close();
    return EXIT.usage;
  }
  const running = await startServer({ engine, port: options.port, host: options.host });
  process.stdout.write(`retrace is serving ${running.url} (database: ${engine.sql.location})\n`);
  await new Promise<void>((resolve) => {
    const stop = () => resolve();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  process.stdout.write('shutting down…\n');
  await running.close();
  await engine.close();
  return EXIT.ok;
}
