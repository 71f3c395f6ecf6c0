/** Micro-benchmarks through the `benchmark` package (Benchmark.js): statistically sound per-call timings. */
import Benchmark from 'benchmark';

export interface MicroCase {
  name: string;
  fn: () => void;
}

export interface MicroResult {
  name: string;
  /** Calls per second. */
  hz: number;
  /** Mean time per call, ms. */
  meanMs: number;
  /** Relative margin of error, percent. */
  rmePct: number;
  samples: number;
}

/**
 * Run each case as its own Benchmark (synchronously, one after another). `maxTimeSec` bounds
 * each case (Benchmark.js default is 5 s; 0.5–1 s is plenty for sub-millisecond functions).
 *
 * @example
 * const r = runMicro([{ name: 'describe', fn: () => d.describeOne(raster) }], { maxTimeSec: 1 });
 */
export function runMicro(cases: readonly MicroCase[], options: { maxTimeSec?: number; minSamples?: number } = {}): MicroResult[] {
  const out: MicroResult[] = [];
  for (const c of cases) {
    const bench = new Benchmark(c.name, c.fn, {
      maxTime: options.maxTimeSec ?? 1,
      minSamples: options.minSamples ?? 5,
      initCount: 1,
    });
    bench.run({ async: false });
    if (bench.error) throw bench.error;
    out.push({
      name: c.name,
      hz: bench.hz,
      meanMs: bench.stats.mean * 1000,
      rmePct: bench.stats.rme,
      samples: bench.stats.sample.length,
    });
  }
  return out;
}
