import { EXIT } from '../exit-codes.js';

const BENCH_HELP = `Usage:
  retrace bench accuracy --corpus DIR [--seed N] [--json FILE] [--per-family N]
      [--split tuning|holdout|mixed] [--holdout DIR] [--negatives N] [--other-corpus DIR]
  retrace bench ingest <files or folders...> [--db PATH|URL] [--json FILE]
  retrace bench search --frames N [--db PATH|URL] [--json FILE] [--quick]`;

/** `retrace bench …`: the benchmark suite lives in bench/; the CLI only dispatches to it. */
export async function benchCommand(argv: readonly string[]): Promise<number> {
  const [sub, ...rest] = argv;
  const log = (line: string) => process.stdout.write(line + '\n');
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
    default:
      process.stderr.write(`${sub ? `Unknown benchmark: ${sub}\n` : ''}${BENCH_HELP}\n`);
      return EXIT.usage;
  }
}
