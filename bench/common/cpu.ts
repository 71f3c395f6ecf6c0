/**
 * CPU time of this process and of its reaped children (ffmpeg, ffprobe), from /proc/self/stat
 * (utime, stime, cutime, cstime). CPU seconds are far less disturbed than wall time when other
 * work shares the machine, so reports give both. Children count once they have exited and been
 * waited for, which Node does for every spawned process.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

let ticksPerSec: number | null = null;

function clkTck(): number {
  if (ticksPerSec === null) {
    try {
      ticksPerSec = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      ticksPerSec = 100;
    }
  }
  return ticksPerSec;
}

export interface CpuTimes {
  /** This process (user + system), ms. */
  selfMs: number;
  /** Exited children (user + system), ms. */
  childrenMs: number;
}

/** Current CPU totals; child times are null-safe (0) where /proc is missing. */
export function cpuTimes(): CpuTimes {
  const self = process.cpuUsage();
  let childrenMs: number;
  try {
    const stat = readFileSync('/proc/self/stat', 'utf8');
    // Fields after the parenthesised command name (which may contain spaces).
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // rest[0] is field 3 (state); cutime and cstime are fields 16 and 17.
    childrenMs = ((Number(rest[13]) + Number(rest[14])) / clkTck()) * 1000;
  } catch {
    childrenMs = 0;
  }
  return { selfMs: (self.user + self.system) / 1000, childrenMs };
}

export function cpuSince(start: CpuTimes): CpuTimes {
  const now = cpuTimes();
  return { selfMs: now.selfMs - start.selfMs, childrenMs: now.childrenMs - start.childrenMs };
}
