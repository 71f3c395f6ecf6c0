/**
 * Resident-memory sampling for benchmarks: this process (process.memoryUsage().rss sampled on a
 * timer, plus the kernel's own high-water mark VmHWM from /proc/self/status) and its child
 * processes (ffmpeg, ffprobe), found through /proc/<pid>/task/<tid>/children and read from
 * /proc/<pid>/status. On systems without /proc the child figures stay null.
 */
import { readFileSync, readdirSync } from 'node:fs';

export interface ProcStatus {
  name: string;
  /** Current resident set, MiB. */
  rssMb: number;
  /** Peak resident set so far (VmHWM), MiB. */
  hwmMb: number;
}

/** Parse /proc/<pid>/status; null if the process is gone or /proc is unavailable. */
export function readProcStatus(pid: number | 'self'): ProcStatus | null {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/status`, 'utf8');
  } catch {
    return null;
  }
  const kb = (field: string): number => {
    const m = new RegExp(`^${field}:\\s+(\\d+)\\s*kB`, 'm').exec(text);
    return m ? Number(m[1]) / 1024 : 0;
  };
  const name = /^Name:\s+(.*)$/m.exec(text)?.[1]?.trim() ?? '';
  return { name, rssMb: kb('VmRSS'), hwmMb: kb('VmHWM') };
}

/** Direct children of a process (all its threads), or [] without /proc. */
export function childPids(pid: number = process.pid): number[] {
  const out = new Set<number>();
  let tasks: string[];
  try {
    tasks = readdirSync(`/proc/${pid}/task`);
  } catch {
    return [];
  }
  for (const tid of tasks) {
    try {
      for (const c of readFileSync(`/proc/${pid}/task/${tid}/children`, 'utf8').split(/\s+/)) if (c) out.add(Number(c));
    } catch {
      // thread exited meanwhile
    }
  }
  return [...out];
}

export interface ChildPeak {
  pid: number;
  name: string;
  /** Highest VmHWM seen (the child's own peak, read while it ran), MiB. */
  peakMb: number;
}

export interface MemoryReport {
  /** Highest process.memoryUsage().rss sampled, MiB. */
  peakRssSampledMb: number;
  /** VmHWM of this process at stop (peak since process start, not only this window), MiB. */
  vmHwmMb: number | null;
  /** Highest heapUsed sampled, MiB. */
  peakHeapUsedMb: number;
  /** Highest external + arrayBuffers sampled (WASM memories, Buffers), MiB. */
  peakExternalMb: number;
  /** Largest peak of any single child of the given names, MiB (null if none was seen). */
  peakChildMb: number | null;
  /** Largest sum over children alive at one sample, MiB. */
  peakChildrenSumMb: number | null;
  /** Highest (own RSS + children RSS) at one sample, MiB. */
  peakTotalMb: number;
  samples: number;
  children: ChildPeak[];
}

/**
 * Samples memory every `intervalMs` until stopped. The timer runs on the event loop, so a long
 * synchronous stretch delays samples; VmHWM (kernel-kept) covers what sampling may miss.
 *
 * @example
 * const m = new MemorySampler({ childNames: ['ffmpeg'] }).start();
 * await work();
 * const report = m.stop();
 */
export class MemorySampler {
  private timer: NodeJS.Timeout | null = null;
  private peakRss = 0;
  private peakHeap = 0;
  private peakExternal = 0;
  private peakChildrenSum = 0;
  private peakTotal = 0;
  private n = 0;
  private readonly children = new Map<number, ChildPeak>();
  private readonly intervalMs: number;
  private readonly childNames: readonly string[] | null;

  constructor(options: { intervalMs?: number; childNames?: readonly string[] | null } = {}) {
    this.intervalMs = options.intervalMs ?? 50;
    this.childNames = options.childNames ?? null;
  }

  start(): this {
    this.sample();
    this.timer = setInterval(() => this.sample(), this.intervalMs);
    this.timer.unref();
    return this;
  }

  /** Take one sample now (also called by the timer). */
  sample(): void {
    this.n++;
    const mu = process.memoryUsage();
    const rss = mu.rss / 2 ** 20;
    this.peakRss = Math.max(this.peakRss, rss);
    this.peakHeap = Math.max(this.peakHeap, mu.heapUsed / 2 ** 20);
    this.peakExternal = Math.max(this.peakExternal, (mu.external + mu.arrayBuffers) / 2 ** 20);
    let sum = 0;
    for (const pid of childPids()) {
      const st = readProcStatus(pid);
      if (!st) continue;
      if (this.childNames && !this.childNames.includes(st.name)) continue;
      sum += st.rssMb;
      const prev = this.children.get(pid);
      const peak = Math.max(st.hwmMb, st.rssMb);
      if (!prev) this.children.set(pid, { pid, name: st.name, peakMb: peak });
      else prev.peakMb = Math.max(prev.peakMb, peak);
    }
    this.peakChildrenSum = Math.max(this.peakChildrenSum, sum);
    this.peakTotal = Math.max(this.peakTotal, rss + sum);
  }

  stop(): MemoryReport {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.sample();
    const kids = [...this.children.values()];
    const self = readProcStatus('self');
    return {
      peakRssSampledMb: this.peakRss,
      vmHwmMb: self ? self.hwmMb : null,
      peakHeapUsedMb: this.peakHeap,
      peakExternalMb: this.peakExternal,
      peakChildMb: kids.length ? Math.max(...kids.map((c) => c.peakMb)) : null,
      peakChildrenSumMb: kids.length ? this.peakChildrenSum : null,
      peakTotalMb: this.peakTotal,
      samples: this.n,
      children: kids,
    };
  }
}
