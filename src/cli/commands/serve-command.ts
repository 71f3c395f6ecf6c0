import type { Retrace } from '../../core/engine/retrace.js';
import { EXIT } from '../exit-codes.js';

/** `retrace serve`: start the HTTP server over the engine until SIGINT/SIGTERM. */
export async function serveCommand(engine: Retrace, options: { port?: number; host?: string }): Promise<number> {
  void engine;
  void options;
  process.stderr.write('retrace serve: not available yet\n');
  return EXIT.failed;
}
