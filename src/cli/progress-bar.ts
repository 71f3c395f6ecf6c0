import type { Progress } from '../core/engine/types.js';

/** A one-line progress bar redrawn in place; silent when stderr is not a terminal. */
export class ProgressBar {
  private last = 0;
  private readonly enabled: boolean;

  constructor(private readonly label: string, private readonly stream: NodeJS.WriteStream = process.stderr) {
    this.enabled = Boolean(stream.isTTY);
  }

  update(p: Progress): void {
    if (!this.enabled) return;
    const now = Date.now();
    if (now - this.last < 100 && p.fraction < 1) return;
    this.last = now;
    const width = 24;
    const filled = Math.round(Math.max(0, Math.min(1, p.fraction)) * width);
    const bar = '█'.repeat(filled) + '░'.repeat(width - filled);
    const extra = p.framesDone !== undefined ? ` ${p.framesDone} frames` : '';
    const cols = this.stream.columns ?? 80;
    const text = `${bar} ${(p.fraction * 100).toFixed(0).padStart(3)}% ${p.stage.padEnd(10)}${extra} ${this.label}`;
    this.stream.write(`\r${text.slice(0, cols - 1).padEnd(cols - 1)}`);
  }

  done(): void {
    if (this.enabled) this.stream.write(`\r${' '.repeat((this.stream.columns ?? 80) - 1)}\r`);
  }
}
