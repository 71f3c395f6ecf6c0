/**
 * Argument parsing of the search benchmark (`retrace bench search` delegates to `searchCli`):
 *
 *   retrace bench search --frames N [--db PATH|URL] [--json FILE] [--quick] [--sources DIR]
 *       [--seed N] [--keep-db] [--alternatives [a,b]] [--no-e2e] [--ef 40,100,200]
 *       [--stored-windows [--window-m 8,16]]
 *
 * N accepts 10k / 1M. Several sizes: --frames 10k,100k (one report each; --json gets a suffix).
 * Or directly: npx vite-node bench/search/cli.ts -- <args>
 */
import { numberFlag, parseFlags } from '../common/args.js';
import { runSearchBench } from './run-search-bench.js';
import type { SearchBenchReport } from './run-search-bench.js';

export const SEARCH_HELP = `retrace bench search --frames N [options]
  --frames N[,N…]        index size(s) in frames (10k, 100k, 1M …); quick mode defaults to 2k
  --db PATH|URL          postgres:// server (a scratch database is made and dropped), a new
                         PGlite directory, or memory:// (default: temporary PGlite directory)
  --json FILE            write the JSON report (several sizes: FILE gets -<N> before .json)
  --quick                small and fast (CI)
  --sources DIR          videos the synthetic content is cut from (default ../shared/corpus/videos beside the checkout)
  --seed N               synthetic content seed (default 1)
  --keep-db              keep the scratch database; a later run with the same N and seed reuses it
  --alternatives [LIST]  also measure alternative ANN indexes (all, or a comma list)
  --ef LIST              ef_search values to sweep (default 40,100,200,400)
  --no-e2e               skip the end-to-end Retrace.search of real clips
  --no-build             do not build the engine's HNSW indexes (queries become exact scans;
                         use with --alternatives where the default build is impractical)
  --maintenance-work-mem SIZE   server setting for the index build (e.g. 1GB)
  --stored-windows       an index with stored windows (strips and quadrant of every frame):
                         reports their bytes per frame and per vector, and the second tier's
                         window queries' latency and recall
  --window-m LIST        with --stored-windows: also rebuild the window graphs alone at these
                         HNSW degrees (e.g. 8) and measure them again`;

export async function searchCli(argv: readonly string[], log: (line: string) => void = (l) => console.log(l)): Promise<SearchBenchReport[]> {
  const args = [...argv];
  // --alternatives takes an optional list.
  const ai = args.indexOf('--alternatives');
  let alternatives: boolean | string[] = false;
  if (ai >= 0) {
    const next = args[ai + 1];
    if (next !== undefined && !next.startsWith('--')) {
      alternatives = next
        .split(',')
        .map((x) => x.trim())
        .filter(Boolean);
      args.splice(ai, 2);
    } else {
      alternatives = true;
      args.splice(ai, 1);
    }
  }
  const p = parseFlags(args, {
    values: ['frames', 'db', 'json', 'sources', 'seed', 'ef', 'maintenance-work-mem', 'frames-per-video', 'image-queries', 'video-queries', 'window-m'],
    switches: ['quick', 'keep-db', 'no-e2e', 'no-build', 'help', 'stored-windows'],
  });
  if (p.switches.has('help')) {
    log(SEARCH_HELP);
    return [];
  }
  const quick = p.switches.has('quick');
  const sizes = (p.values.get('frames') ?? (quick ? '2k' : ''))
    .split(',')
    .filter(Boolean)
    .map((s) => numberFlag({ ...p, values: new Map([['frames', s]]) }, 'frames')!);
  if (!sizes.length) throw new Error(`--frames N is required\n${SEARCH_HELP}`);
  if (p.values.has('window-m') && !p.switches.has('stored-windows')) throw new Error(`--window-m needs --stored-windows\n${SEARCH_HELP}`);
  const json = p.values.get('json');
  const reports: SearchBenchReport[] = [];
  for (const frames of sizes) {
    reports.push(
      await runSearchBench({
        frames,
        db: p.values.get('db'),
        json: json && sizes.length > 1 ? json.replace(/(\.json)?$/, `-${frames}.json`) : json,
        quick,
        log,
        sources: p.values.get('sources')?.split(','),
        seed: numberFlag(p, 'seed'),
        framesPerVideo: numberFlag(p, 'frames-per-video'),
        imageQueries: numberFlag(p, 'image-queries'),
        videoQueries: numberFlag(p, 'video-queries'),
        efSearch: p.values.get('ef')?.split(',').map(Number),
        keepDb: p.switches.has('keep-db'),
        e2e: !p.switches.has('no-e2e'),
        buildIndex: !p.switches.has('no-build'),
        alternatives,
        serverSettings: p.values.has('maintenance-work-mem') ? { maintenance_work_mem: p.values.get('maintenance-work-mem')! } : undefined,
        storedWindows: p.switches.has('stored-windows'),
        windowM: p.values.get('window-m')?.split(',').map(Number),
      }),
    );
  }
  return reports;
}
