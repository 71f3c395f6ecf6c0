/**
 * Runs the ingest benchmark from the command line:
 *
 *   npx vite-node bench/ingest/cli.ts -- ../shared/corpus/videos --repeat 3 --json ingest.json
 *
 * (or `node dist/bench/ingest/cli.js ...` after `npm run build`). See main.ts for the flags.
 */
import { ingestCli } from './main.js';

ingestCli(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e: unknown) => {
    console.error(e instanceof Error ? e.message : e);
    process.exit(1);
  },
);
