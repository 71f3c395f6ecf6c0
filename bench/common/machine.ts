import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import os from 'node:os';

export interface MachineInfo {
  date: string;
  hostCpus: number;
  cpuModel: string;
  memoryGb: number;
  os: string;
  kernel: string;
  node: string;
  ffmpeg: string | null;
  /** 1/5/15-minute load averages when the run started: the machine is shared, so read figures with it. */
  loadAverage: number[];
}

function osName(): string {
  try {
    const m = /^PRETTY_NAME="?([^"\n]*)"?/m.exec(readFileSync('/etc/os-release', 'utf8'));
    if (m) return m[1];
  } catch {
    // not Linux
  }
  return `${os.type()} ${os.release()}`;
}

/** What the figures were measured on. */
export function machineInfo(ffmpegPath?: string): MachineInfo {
  let ffmpeg: string | null = null;
  if (ffmpegPath) {
    try {
      ffmpeg = execFileSync(ffmpegPath, ['-hide_banner', '-version'], { encoding: 'utf8' }).split('\n')[0].trim();
    } catch {
      ffmpeg = null;
    }
  }
  return {
    date: new Date().toISOString(),
    hostCpus: os.cpus().length,
    cpuModel: os.cpus()[0]?.model ?? 'unknown',
    memoryGb: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    os: osName(),
    kernel: os.release(),
    node: process.version,
    ffmpeg,
    loadAverage: os.loadavg().map((x) => Math.round(x * 100) / 100),
  };
}

export function describeMachine(m: MachineInfo): string {
  return `${m.date} · ${m.hostCpus} × ${m.cpuModel} · ${m.memoryGb} GB · ${m.os} · Node ${m.node} · ${m.ffmpeg ?? 'ffmpeg ?'} · load ${m.loadAverage.join('/')}`;
}
