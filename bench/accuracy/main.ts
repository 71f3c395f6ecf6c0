/**
 * Argument parsing and command of the accuracy benchmark (the `retrace bench accuracy` command can
 * delegate to `accuracyCli`). Run directly with bench/accuracy/cli.ts:
 *
 *   npx vite-node bench/accuracy/cli.ts -- --corpus DIR [--seed N] [--json FILE] [--per-family N]
 *       [--negative-multiplier N] [--db DIR] [--cache-dir DIR] [--families a,b,...] [--generate-only]
 */
import { ALL_FAMILIES, isQueryFamily, type QueryFamily } from './edit-families.js';
import { buildQuerySet } from './query-set.js';
import { runAccuracyBenchmark } from './run-accuracy.js';

export interface AccuracyCliArgs {
  corpus: string;
  seed?: number;
  json?: string;
  perFamily?: number;
  negativeMultiplier?: number;
  db?: string;
  cacheDir?: string;
  families?: QueryFamily[];
  generateOnly: boolean;
}

export function parseAccuracyArgs(argv: readonly string[]): AccuracyCliArgs {
  const out: Partial<AccuracyCliArgs> & { generateOnly: boolean } = { generateOnly: false };
  const need = (i: number, flag: string): string => {
    const v = argv[i + 1];
    if (v === undefined || v.startsWith('--')) throw new Error(`${flag} needs a value`);
    return v;
  };
  const int = (v: string, flag: string): number => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 0) throw new Error(`${flag} must be a non-negative integer, got ${v}`);
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    switch (a) {
      case '--':
        break;
      case '--corpus':
        out.corpus = need(i++, a);
        break;
      case '--seed':
        out.seed = int(need(i++, a), a);
        break;
      case '--json':
        out.json = need(i++, a);
        break;
      case '--per-family':
        out.perFamily = int(need(i++, a), a);
        break;
      case '--negative-multiplier':
        out.negativeMultiplier = int(need(i++, a), a);
        break;
      case '--db':
        out.db = need(i++, a);
        break;
      case '--cache-dir':
        out.cacheDir = need(i++, a);
        break;
      case '--families': {
        const list = need(i++, a).split(',').map((s) => s.trim()).filter(Boolean);
        for (const f of list) {
          if (!isQueryFamily(f)) throw new Error(`unknown family ${f}; known: ${ALL_FAMILIES.join(', ')}`);
        }
        out.families = list as QueryFamily[];
        break;
      }
      case '--generate-only':
        out.generateOnly = true;
        break;
      default:
        throw new Error(`unknown argument ${a}`);
    }
  }
  if (!out.corpus) throw new Error('--corpus DIR is required');
  return out as AccuracyCliArgs;
}

export async function accuracyCli(argv: readonly string[], log: (line: string) => void = (l) => console.log(l)): Promise<number> {
  const args = parseAccuracyArgs(argv);
  if (args.generateOnly) {
    const set = await buildQuerySet({ ...args, log });
    log(`wrote ${set.cacheDir}/queries.json`);
    return 0;
  }
  await runAccuracyBenchmark({ ...args, log });
  return 0;
}
