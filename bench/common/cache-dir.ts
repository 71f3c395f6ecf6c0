import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * Where benchmarks keep generated inputs (long videos, decoded source frames, synthetic
 * descriptors): `RETRACE_BENCH_CACHE`, else /var/tmp/retrace-bench (survives reboots, outside the
 * repository), else the OS temp folder.
 */
export function benchCacheDir(): string {
  if (process.env.RETRACE_BENCH_CACHE) return process.env.RETRACE_BENCH_CACHE;
  if (existsSync('/var/tmp')) return '/var/tmp/retrace-bench';
  return join(tmpdir(), 'retrace-bench');
}
