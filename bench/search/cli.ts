/**
 * Runs the search benchmark from the command line:
 *
 *   npx vite-node bench/search/cli.ts -- --frames 10k,100k --json search.json
 *   npx vite-node bench/search/cli.ts -- --frames 1M --db postgres://postgres@127.0.0.1:54329/retrace_test
 *
 * (or `node dist/bench/search/cli.js ...` after `npm run build`). See main.ts for the flags.
 */
import { searchCli } from './main.js';

searchCli(process.argv.slice(2)).then(
  () => process.exit(0),
  (e: unknown) => {
    console.error(e instanceof Error ? (e.stack ?? e.message) : e);
    process.exit(1);
  },
);
