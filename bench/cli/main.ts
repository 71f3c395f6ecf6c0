/**
 * Argument parsing of the CLI benchmark (`retrace bench cli` delegates to `cliBenchCli`):
 *
 *   retrace bench cli [--ingest FILE] [--corpus DIR] [--query FILE] [--runs N] [--json FILE]
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { numberFlag, parseFlags } from '../common/args.js';
import { DEFAULT_SOURCES } from '../search/run-search-bench.js';
import { runCliBench, setRetraceBin } from './run-cli-bench.js';

export const CLI_BENCH_HELP = `retrace bench cli [options]   (whole processes, through /usr/bin/time)
  --ingest FILE   video for \`retrace index\` into a new and into an existing index (peak RSS, CPU, wall)
  --corpus DIR    folder indexed once for the search runs (default ../shared/corpus/videos beside the checkout)
  --query FILE    clip to search for (default: 10 s cut from the corpus's first 720p video of 15 s or more)
  --no-search     skip the search runs
  --runs N        runs of each command, medians reported (default 5)
  --bin FILE      the bin/retrace.js to measure (default this checkout's; another build for before/after)
  --json FILE     write the JSON report`;

export async function cliBenchCli(argv: readonly string[], log: (line: string) => void = (l) => console.log(l)): Promise<number> {
  const p = parseFlags(argv, { values: ['ingest', 'corpus', 'query', 'runs', 'json', 'bin'], switches: ['no-search', 'help'] });
  if (p.switches.has('help')) {
    log(CLI_BENCH_HELP);
    return 0;
  }
  if (p.values.get('bin')) setRetraceBin(p.values.get('bin')!);
  // DEFAULT_SOURCES is right from bench/ (vite-node); from dist/bench/ the checkout's parent is one level further up.
  const besideCheckout =
    [DEFAULT_SOURCES, fileURLToPath(new URL('../../../../shared/corpus/videos', import.meta.url))].find((d) => existsSync(d)) ?? DEFAULT_SOURCES;
  const corpus = p.switches.has('no-search') ? undefined : (p.values.get('corpus') ?? besideCheckout);
  if (corpus && !existsSync(corpus)) throw new Error(`no corpus at ${corpus}: give --corpus DIR or --no-search\n${CLI_BENCH_HELP}`);
  await runCliBench({
    ingest: p.values.get('ingest'),
    corpus,
    query: p.values.get('query'),
    runs: numberFlag(p, 'runs', 5)!,
    json: p.values.get('json'),
    log,
  });
  return 0;
}
