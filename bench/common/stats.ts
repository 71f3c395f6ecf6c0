/** Order statistics for benchmark samples. Medians and p95 rather than means: the machine is shared. */

export interface Summary {
  n: number;
  mean: number;
  min: number;
  p50: number;
  p95: number;
  max: number;
}

/** Linear-interpolated percentile (p in 0–100) of unsorted values; NaN for an empty list. */
export function percentile(values: readonly number[], p: number): number {
  if (!values.length) return NaN;
  const s = [...values].sort((a, b) => a - b);
  const pos = (Math.min(100, Math.max(0, p)) / 100) * (s.length - 1);
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return s[lo] + (s[hi] - s[lo]) * (pos - lo);
}

export function median(values: readonly number[]): number {
  return percentile(values, 50);
}

export function mean(values: readonly number[]): number {
  return values.length ? values.reduce((a, b) => a + b, 0) / values.length : NaN;
}

export function summarize(values: readonly number[]): Summary {
  return {
    n: values.length,
    mean: mean(values),
    min: values.length ? Math.min(...values) : NaN,
    p50: percentile(values, 50),
    p95: percentile(values, 95),
    max: values.length ? Math.max(...values) : NaN,
  };
}

/** Round for reports (JSON stays readable; NaN/Infinity become null through JSON anyway). */
export function round(x: number, digits = 3): number {
  if (!Number.isFinite(x)) return x;
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

export function roundSummary(s: Summary, digits = 3): Summary {
  return {
    n: s.n,
    mean: round(s.mean, digits),
    min: round(s.min, digits),
    p50: round(s.p50, digits),
    p95: round(s.p95, digits),
    max: round(s.max, digits),
  };
}
