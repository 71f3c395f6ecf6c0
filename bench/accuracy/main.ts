/**
 * Argument parsing and command of the accuracy benchmark (the `retrace bench accuracy` command can
 * delegate to `accuracyCli`). Run directly with bench/accuracy/cli.ts:
 *
 *   npx vite-node bench/accuracy/cli.ts -- --corpus DIR [--seed N] [--json FILE] [--per-family N]
 *       [--negative-multiplier N] [--db DIR] [--cache-dir DIR] [--families a,b,...] [--generate-only] [--no-verify] [--no-layouts]
 *       [--split tuning|holdout|mixed] [--holdout DIR] [--mixed-reference tuning|holdout]
 *       [--negatives N] [--other-corpus DIR] [--negative-image-share F] [--social] [--stored-windows]
 *
 * --split tuning (default): references and pool are a seeded split of --corpus.
 * --split holdout: the same split of --holdout DIR (evaluation only; --corpus not needed).
 * --split mixed: every clip of one corpus indexed (--mixed-reference, default tuning = --corpus),
 *   every clip of the other never indexed (negatives, and pip/insert footage).
 * --negatives N: a large negative set of N short windows and stills of never-indexed footage
 *   (the split's pool, plus every clip of --other-corpus DIR; not with mixed, whose pool is
 *   already the whole other corpus), reported separately with 95 % upper bounds.
 * --social: add the social-media families (issue 15: vertical, vertical-blur, split, crop-heavy,
 *   inset-small, speed-extreme) and neg-social to the drawn families, and social negatives to the
 *   large negative set (on top of N). Without it a run draws exactly what it drew before; the
 *   social families can also be named in --families.
 * --stored-windows: the references are indexed with stored windows (strips and quadrants, for
 *   vertical reframes and heavy crops; `RetraceOptions.storedWindows`). An index given with --db
 *   keeps whatever it was built with.
 */
import { isQueryFamily, KNOWN_FAMILIES, type QueryFamily } from './edit-families.js';
import { buildNegativeSet } from './negative-set.js';
import { buildQuerySet, SPLIT_MODES, type CorpusLabel, type SplitMode } from './query-set.js';
import { negativeSetOptions, openRetrace, runAccuracyBenchmark } from './run-accuracy.js';

export interface AccuracyCliArgs {
  corpus?: string;
  holdout?: string;
  split?: SplitMode;
  mixedReference?: CorpusLabel;
  negatives?: number;
  otherCorpus?: string;
  negativeImageShare?: number;
  seed?: number;
  json?: string;
  perFamily?: number;
  negativeMultiplier?: number;
  db?: string;
  cacheDir?: string;
  families?: QueryFamily[];
  /** `--social`: add the social families, neg-social and social large negatives. */
  social?: boolean;
  generateOnly: boolean;
  /** `--no-verify`: the engine without its verification stage, to measure what verification changes. */
  verify?: boolean;
  /** `--no-layouts`: the engine without layout detection (blurred surrounds, split screens). */
  layouts?: boolean;
  /** `--verify-set name=value` (repeatable): numeric verification settings to try, e.g. `orbFeatures=1000` (`stillRescue.minInliers=30` for the still rescue's). */
  verifySet?: Record<string, number>;
  /** `--stored-windows`: index the references with stored windows. */
  storedWindows?: boolean;
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
        const list = need(i++, a)
          .split(',')
          .map((s) => s.trim())
          .filter(Boolean);
        for (const f of list) {
          if (!isQueryFamily(f)) throw new Error(`unknown family ${f}; known: ${KNOWN_FAMILIES.join(', ')}`);
        }
        out.families = list as QueryFamily[];
        break;
      }
      case '--generate-only':
        out.generateOnly = true;
        break;
      case '--social':
        out.social = true;
        break;
      case '--no-verify':
        out.verify = false;
        break;
      case '--verify-set': {
        const v = need(i++, a);
        const m = /^((?:stillRescue\.|refine\.|loneHits\.)?\w+)=(-?[\d.]+)$/.exec(v);
        if (!m) throw new Error(`--verify-set takes name=number, got ${v}`);
        out.verifySet = { ...out.verifySet, [m[1]]: Number(m[2]) };
        break;
      }
      case '--no-layouts':
        out.layouts = false;
        break;
      case '--stored-windows':
        out.storedWindows = true;
        break;
      case '--split': {
        const v = need(i++, a);
        if (!(SPLIT_MODES as readonly string[]).includes(v)) throw new Error(`--split must be one of ${SPLIT_MODES.join(', ')}, got ${v}`);
        out.split = v as SplitMode;
        break;
      }
      case '--holdout':
        out.holdout = need(i++, a);
        break;
      case '--mixed-reference': {
        const v = need(i++, a);
        if (v !== 'tuning' && v !== 'holdout') throw new Error(`--mixed-reference must be tuning or holdout, got ${v}`);
        out.mixedReference = v;
        break;
      }
      case '--negatives':
        out.negatives = int(need(i++, a), a);
        break;
      case '--other-corpus':
        out.otherCorpus = need(i++, a);
        break;
      case '--negative-image-share': {
        const v = need(i++, a);
        const x = Number(v);
        if (!Number.isFinite(x) || x < 0 || x > 1) throw new Error(`--negative-image-share must be a number from 0 to 1, got ${v}`);
        out.negativeImageShare = x;
        break;
      }
      default:
        throw new Error(`unknown argument ${a}`);
    }
  }
  const split = out.split ?? 'tuning';
  if (split !== 'holdout' && !out.corpus) throw new Error(`--corpus DIR is required${split === 'mixed' ? ' by --split mixed' : ''}`);
  if (split !== 'tuning' && !out.holdout) throw new Error(`--split ${split} needs --holdout DIR`);
  if (split === 'tuning' && out.holdout) {
    throw new Error('--holdout is used by --split holdout|mixed; to add its clips to the large negative set of the tuning split, pass --other-corpus DIR');
  }
  if (out.mixedReference && split !== 'mixed') throw new Error('--mixed-reference is used only with --split mixed');
  if (split === 'mixed' && out.otherCorpus) {
    throw new Error('--other-corpus is not used with --split mixed: its negatives already come from every clip of the never-indexed corpus');
  }
  if ((out.otherCorpus || out.negativeImageShare !== undefined) && !out.negatives) {
    throw new Error('--other-corpus and --negative-image-share need --negatives N');
  }
  return out as AccuracyCliArgs;
}

export async function accuracyCli(argv: readonly string[], log: (line: string) => void = (l) => console.log(l)): Promise<number> {
  const args = parseAccuracyArgs(argv);
  if (args.generateOnly) {
    const set = await buildQuerySet({ ...args, log });
    log(`wrote ${set.cacheDir}/queries.json`);
    if ((args.negatives ?? 0) > 0) {
      const neg = await buildNegativeSet(set, negativeSetOptions(args, log));
      log(`wrote ${neg.cacheDir}/negatives.json`);
    }
    return 0;
  }
  const verify = args.verify ?? true;
  const layouts = args.layouts ?? true;
  const verifySet = args.verifySet;
  const storedWindows = args.storedWindows ?? false;
  const plain = verify && layouts && !verifySet && !storedWindows;
  if (verifySet) log(`verification settings changed: ${JSON.stringify(verifySet)}`);
  await runAccuracyBenchmark({
    ...args,
    log,
    ...(plain ? {} : { openEngine: (db: string) => openRetrace(db, { verify, layouts, verifySet, storedWindows }) }),
  });
  return 0;
}
