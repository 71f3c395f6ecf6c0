import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { EXIT } from '../exit-codes.js';

const BENCH_HELP = `Usage (from a checkout of the retrace repository, after npm install):
  retrace bench accuracy --corpus DIR [--seed N] [--json FILE] [--per-family N]
      [--split tuning|holdout|mixed] [--holdout DIR] [--negatives N] [--other-corpus DIR]
  retrace bench ingest <files or folders...> [--db PATH|URL] [--json FILE]
  retrace bench ingest --vs-decode <folder|files...> [--repeat N] [--json FILE]
  retrace bench search --frames N [--db PATH|URL] [--json FILE] [--quick]
  retrace bench cli [--ingest FILE] [--corpus DIR] [--query FILE] [--runs N] [--json FILE]`;

/** The compiled benchmark suite (dist/bench/), next to dist/src/ in a built checkout. */
const BENCH_DIR = new URL('../../../bench/', import.meta.url);

/**
 * Why the benchmarks cannot run here, or null when they can. The published package leaves
 * bench/ out: the benchmarks need devDependencies (benchmark, sharp), a video corpus and the
 * repository's git history, none of which an installed package has.
 */
function benchUnavailable(sub: string): string | null {
  if (!existsSync(fileURLToPath(new URL(`${sub}/main.js`, BENCH_DIR)))) {
    return (
      'the benchmarks are not part of the installed package. Run them from a checkout of the retrace repository:\n' +
      `  npm install        # devDependencies included; builds dist/\n  npx retrace bench ${sub} …`
    );
  }
  return null;
}

/** A module a benchmark imports is missing: a checkout installed without its devDependencies. */
function missingDevDependency(err: unknown): string | null {
  const e = err as NodeJS.ErrnoException;
  if (e?.code !== 'ERR_MODULE_NOT_FOUND' || !/Cannot find package '([^']+)'/.test(e.message)) return null;
  const pkg = /Cannot find package '([^']+)'/.exec(e.message)?.[1];
  return `the benchmarks need the devDependencies (${pkg} is missing): run \`npm install\` (not --omit=dev) in the retrace checkout`;
}

/** `retrace bench …`: the benchmark suite lives in bench/; the CLI only dispatches to it. */
export async function benchCommand(argv: readonly string[]): Promise<number> {
  const [sub, ...rest] = argv;
  const log = (line: string) => process.stdout.write(line + '\n');
  if (sub !== 'accuracy' && sub !== 'ingest' && sub !== 'search' && sub !== 'cli') {
    process.stderr.write(`${sub ? `Unknown benchmark: ${sub}\n` : ''}${BENCH_HELP}\n`);
    return EXIT.usage;
  }
  const unavailable = benchUnavailable(sub);
  if (unavailable) {
    process.stderr.write(`retrace bench: ${unavailable}\n`);
    return EXIT.environment;
  }
  try {
    switch (sub) {
      case 'accuracy': {
        const { accuracyCli } = await import('../../../bench/accuracy/main.js');
        return accuracyCli(rest, log);
      }
      case 'ingest': {
        const { ingestCli } = await import('../../../bench/ingest/main.js');
        return ingestCli(rest, log);
      }
      case 'search': {
        const { searchCli } = await import('../../../bench/search/main.js');
        await searchCli(rest, log);
        return EXIT.ok;
      }
      case 'cli': {
        const { cliBenchCli } = await import('../../../bench/cli/main.js');
        return cliBenchCli(rest, log);
      }
    }
  } catch (err) {
    const missing = missingDevDependency(err);
    if (!missing) throw err;
    process.stderr.write(`retrace bench: ${missing}\n`);
    return EXIT.environment;
  }
}
