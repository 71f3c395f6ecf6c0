import { spawn } from 'node:child_process';
import { cpuSince, cpuTimes } from './cpu.js';
import { readProcStatus } from './memory.js';

export interface FfmpegRun {
  wallMs: number;
  /** CPU of the ffmpeg process (user + system), ms. */
  cpuMs: number;
  /** ffmpeg's peak resident set (VmHWM read while it ran), MiB; null without /proc. */
  peakRssMb: number | null;
  exitCode: number | null;
  stderrTail: string;
}

/**
 * The sampler's exact ffmpeg command with its raw-video pipe output replaced by the null muxer:
 * same input options, filters and threads, no consumer. This is the decode floor.
 */
export function nullSinkArgs(samplerArgs: readonly string[]): string[] {
  const args = [...samplerArgs];
  const i = args.lastIndexOf('-f');
  if (i < 0 || args[i + 1] !== 'rawvideo' || args[i + 2] !== 'pipe:1') {
    throw new Error(`unexpected sampler arguments (no "-f rawvideo pipe:1" at the end): ${args.join(' ')}`);
  }
  args.splice(i, 3, '-f', 'null', '-');
  return args;
}

/** Run ffmpeg to completion, timing it and sampling its memory every `intervalMs`. */
export async function runFfmpeg(ffmpeg: string, args: readonly string[], intervalMs = 25): Promise<FfmpegRun> {
  const cpu0 = cpuTimes();
  const t0 = performance.now();
  const p = spawn(ffmpeg, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let peak: number | null = null;
  const poll = () => {
    if (p.pid === undefined) return;
    const st = readProcStatus(p.pid);
    if (st) peak = Math.max(peak ?? 0, st.hwmMb, st.rssMb);
  };
  const timer = setInterval(poll, intervalMs);
  let tail = '';
  p.stderr.setEncoding('utf8');
  p.stderr.on('data', (s: string) => {
    poll();
    tail = (tail + s).slice(-4000);
  });
  const exitCode = await new Promise<number | null>((resolve) => {
    p.on('close', (code) => resolve(code));
    p.on('error', () => resolve(-1));
  });
  clearInterval(timer);
  const wallMs = performance.now() - t0;
  return { wallMs, cpuMs: cpuSince(cpu0).childrenMs, peakRssMb: peak, exitCode, stderrTail: tail };
}
