/**
 * Runs the accuracy benchmark from the command line:
 *
 *   npx vite-node bench/accuracy/cli.ts -- --corpus ../shared/corpus/videos --seed 1 --per-family 2 --json report.json
 *
 * (or `node dist/bench/accuracy/cli.js ...` after `npm run build`). See main.ts for the flags.
 */
import { accuracyCli } from './main.js';

accuracyCli(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e: unknown) => {
    console.error(e instanceof Error ? e.message : e);
    process.exit(1);
  },
);
