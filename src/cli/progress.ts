import type { Progress } from '../core/engine/types.js';

/** What progress output needs of a stream: `process.stderr`, or a stand-in in tests. */
export interface ProgressStream {
  write(text: string): unknown;
  isTTY?: boolean;
  /** Terminal width; 0 or missing when the terminal does not say (e.g. under `script -qc`). */
  columns?: number;
}

/**
 * `bar`: one line redrawn in place, on a terminal that reports a usable width;
 * `lines`: plain lines, now and then, for logs, pipes and terminals without a width;
 * `off`: nothing (`--json`).
 */
export type ProgressMode = 'bar' | 'lines' | 'off';

/** Narrower terminals get plain lines: a bar would leave no room for the file name. */
export const MIN_BAR_COLUMNS = 40;

/** ANSI "carriage return, erase to end of line": clears the bar without knowing the width. */
const ERASE_LINE = '\r\x1b[K';

/** The mode for `stream`: a bar only on a terminal (not TERM=dumb) that reports at least MIN_BAR_COLUMNS. */
export function progressMode(stream: ProgressStream, env: NodeJS.ProcessEnv = process.env): ProgressMode {
  if (!stream.isTTY || env.TERM === 'dumb') return 'lines';
  return usableColumns(stream) ? 'bar' : 'lines';
}

function usableColumns(stream: ProgressStream): number | null {
  const c = stream.columns;
  return typeof c === 'number' && Number.isFinite(c) && c >= MIN_BAR_COLUMNS ? Math.floor(c) : null;
}

export interface IndexProgressOptions {
  /** Default: `progressMode(stream)`. */
  mode?: ProgressMode;
  /** Lines mode: least time between two lines about one file (default 5 s). */
  lineIntervalMs?: number;
  /** Bar mode: least time between two redraws (default 100 ms). */
  redrawMs?: number;
  now?: () => number;
}

interface FileState {
  label: string;
  p: Progress;
  lastLineAt: number;
  lastLinePercent: number;
}

/**
 * Progress of `retrace index` over several files, some in flight at once. On a terminal with a
 * width, one bar line shows the file that reported last; elsewhere a line is written when a file
 * starts and then at most every `lineIntervalMs` while it progresses. Never throws on odd
 * terminals (0 or missing columns, resizes), and writes nothing but whole lines outside bar mode.
 */
export class IndexProgress {
  readonly mode: ProgressMode;
  private readonly files = new Map<number, FileState>();
  private readonly lineIntervalMs: number;
  private readonly redrawMs: number;
  private readonly now: () => number;
  private lastDraw = -Infinity;
  private current: number | null = null;
  private drawn = false;

  constructor(
    private readonly stream: ProgressStream,
    private readonly total: number,
    options: IndexProgressOptions = {},
  ) {
    this.mode = options.mode ?? progressMode(stream);
    this.lineIntervalMs = options.lineIntervalMs ?? 5000;
    this.redrawMs = options.redrawMs ?? 100;
    this.now = options.now ?? Date.now;
  }

  /** File `index` (0-based), named `path`, reported `p`. */
  update(index: number, path: string, p: Progress): void {
    if (this.mode === 'off') return;
    const t = this.now();
    let state = this.files.get(index);
    const first = !state;
    if (!state) {
      state = { label: `[${index + 1}/${this.total}] ${path}`, p, lastLineAt: -Infinity, lastLinePercent: -1 };
      this.files.set(index, state);
    }
    state.p = p;
    if (this.mode === 'lines') {
      const percent = percentOf(p);
      if (first || (t - state.lastLineAt >= this.lineIntervalMs && percent !== state.lastLinePercent)) {
        state.lastLineAt = t;
        state.lastLinePercent = percent;
        this.stream.write(`${describe(p)} ${state.label}\n`);
      }
      return;
    }
    this.current = index;
    if (t - this.lastDraw < this.redrawMs && p.fraction < 1) return;
    this.lastDraw = t;
    this.draw();
  }

  /** File `index` has finished: it is no longer shown. */
  finish(index: number): void {
    this.files.delete(index);
    if (this.current === index) this.current = this.files.size ? [...this.files.keys()].pop()! : null;
  }

  /** Erase the bar so that another line can be written; `resume` draws it again. */
  suspend(): void {
    if (this.mode === 'bar' && this.drawn) {
      this.stream.write(ERASE_LINE);
      this.drawn = false;
    }
  }

  resume(): void {
    if (this.mode === 'bar') this.draw();
  }

  /** Leave the terminal clean. */
  close(): void {
    this.suspend();
    this.files.clear();
    this.current = null;
  }

  private draw(): void {
    const state = this.current !== null ? this.files.get(this.current) : undefined;
    const cols = usableColumns(this.stream);
    if (!state || cols === null) {
      // Nothing to show, or the terminal was resized to (or now reports) no usable width.
      this.suspend();
      return;
    }
    const width = 20;
    const filled = Math.round(clamp01(state.p.fraction) * width);
    const text = `${'█'.repeat(filled)}${'░'.repeat(width - filled)} ${describe(state.p)} ${state.label}`;
    this.stream.write(`${ERASE_LINE}${truncate(text, cols - 1)}`);
    this.drawn = true;
  }
}

function clamp01(x: number): number {
  return Number.isFinite(x) ? Math.max(0, Math.min(1, x)) : 0;
}

function percentOf(p: Progress): number {
  return Math.round(clamp01(p.fraction) * 100);
}

/** ` 42% sampling   120 frames` */
function describe(p: Progress): string {
  const frames = p.framesDone !== undefined ? ` ${p.framesDone} frames` : '';
  return `${String(percentOf(p)).padStart(3)}% ${p.stage.padEnd(10)}${frames}`;
}

/** At most `max` characters; "…" marks a cut. */
function truncate(text: string, max: number): string {
  const chars = [...text];
  if (chars.length <= max) return text;
  return max <= 1 ? chars.slice(0, Math.max(0, max)).join('') : `${chars.slice(0, max - 1).join('')}…`;
}
