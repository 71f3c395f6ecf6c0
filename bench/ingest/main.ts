/**
 * Argument parsing of the ingest benchmark (`retrace bench ingest` delegates to `ingestCli`):
 *
 *   retrace bench ingest <files or folders...> [--db PATH|URL] [--json FILE] [--repeat N] [--no-micro]
 *   retrace bench ingest --generate-long [--long-duration SEC] [--long-path FILE] ...   # 2-hour check
 *   retrace bench ingest --vs-decode <folder|files...> [--repeat N] [--json FILE]   # CPU against the decode floor
 *
 * or directly: npx vite-node bench/ingest/cli.ts -- <args>
 */
import { numberFlag, parseFlags } from '../common/args.js';
import { DEFAULT_LONG_VIDEO, generateLongVideo } from './long-video.js';
import { runIngestBench } from './run-ingest-bench.js';
import { runVsDecode } from './vs-decode.js';

export const INGEST_HELP = `retrace bench ingest <files or folders...> [options]
  --db PATH|URL        index to ingest into (default: a temporary PGlite directory)
  --json FILE          write the JSON report
  --repeat N           runs per file, medians reported (default 1)
  --no-micro           skip the Benchmark.js micro-benchmarks
  --no-stage-pass      skip the instrumented per-stage pass
  --set-pass N[,N…]    also ingest the whole set in one pass with N files in flight (e.g. 1,2)
  --generate-long      generate (once) a long 720p H.264 test video and ingest it too
  --long-duration SEC  its duration (default ${DEFAULT_LONG_VIDEO.durationSec})
  --long-path FILE     where it is kept (default ${DEFAULT_LONG_VIDEO.path})
  --vs-decode          instead: CPU (process tree, user + system) and wall of \`retrace index\` into a
                       new embedded index against ffmpeg decoding the same files with the same decoder
                       flags (-f null); --repeat N alternates the two N times (medians), --json FILE
  --retrace-bin FILE   with --vs-decode: the launcher to time (default bin/retrace.js of this checkout)
  --decode-threads N   with --vs-decode: decoder threads of the decode pass (default: those retrace
                       index uses for this run; issue 17's ruler is 1)`;

export async function ingestCli(argv: readonly string[], log: (line: string) => void = (l) => console.log(l)): Promise<number> {
  const p = parseFlags(argv, {
    values: ['db', 'json', 'repeat', 'long-duration', 'long-path', 'set-pass', 'retrace-bin', 'decode-threads'],
    switches: ['no-micro', 'no-stage-pass', 'generate-long', 'vs-decode', 'help'],
  });
  if (p.switches.has('help')) {
    log(INGEST_HELP);
    return 0;
  }
  const inputs = [...p.positionals];
  if (p.switches.has('generate-long')) {
    const path = await generateLongVideo({
      path: p.values.get('long-path') ?? DEFAULT_LONG_VIDEO.path,
      durationSec: numberFlag(p, 'long-duration', DEFAULT_LONG_VIDEO.durationSec)!,
      log,
    });
    inputs.push(path);
  }
  if (!inputs.length) throw new Error(`no input given\n${INGEST_HELP}`);
  if (p.switches.has('vs-decode')) {
    // ffmpeg reads 0 threads as "choose for me": a ruler must say how many.
    if (numberFlag(p, 'decode-threads') === 0) throw new Error('--decode-threads must be at least 1');
    await runVsDecode({
      inputs,
      repeat: numberFlag(p, 'repeat', 1),
      json: p.values.get('json'),
      retraceBin: p.values.get('retrace-bin'),
      decodeThreads: numberFlag(p, 'decode-threads'),
      log,
    });
    return 0;
  }
  await runIngestBench({
    inputs,
    db: p.values.get('db'),
    json: p.values.get('json'),
    repeat: numberFlag(p, 'repeat', 1),
    micro: !p.switches.has('no-micro'),
    skipStagePass: p.switches.has('no-stage-pass'),
    setPasses: p.values
      .get('set-pass')
      ?.split(',')
      .map(Number)
      .filter((n) => n >= 1),
    log,
  });
  return 0;
}
