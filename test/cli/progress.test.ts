/**
 * Progress output of `retrace index`: a bar on a terminal that reports a usable width, plain
 * lines everywhere else, and never an exception, whatever the terminal says about itself.
 */
import { describe, expect, it } from 'vitest';
import { IndexProgress, MIN_BAR_COLUMNS, progressMode } from '../../src/cli/progress.js';
import type { ProgressStream } from '../../src/cli/progress.js';
import type { Progress } from '../../src/core/engine/types.js';

/** A stream that records what is written, with the terminal facts a test gives it. */
function fakeStream(facts: { isTTY?: boolean; columns?: number } = {}): ProgressStream & { out: string } {
  return {
    out: '',
    isTTY: facts.isTTY,
    columns: facts.columns,
    write(text: string) {
      this.out += text;
      return true;
    },
  };
}

/** A clock the test moves by hand. */
function clock(start = 1_000_000) {
  let t = start;
  return {
    now: () => t,
    advance: (ms: number) => {
      t += ms;
    },
  };
}

const STAGES: Progress[] = [
  { stage: 'probing', fraction: 0 },
  { stage: 'sampling', fraction: 0.02 },
  { stage: 'sampling', fraction: 0.4, framesDone: 12, mediaTimeSec: 12 },
  { stage: 'storing', fraction: 0.98, framesDone: 30 },
  { stage: 'done', fraction: 1, framesDone: 30 },
];

/** Index `files` one after another through `progress`, as the index command drives it. */
function drive(progress: IndexProgress, stream: ProgressStream, files: string[], c = clock()): void {
  files.forEach((path, i) => {
    for (const p of STAGES) {
      progress.update(i, path, p);
      c.advance(3000);
    }
    progress.finish(i);
    progress.suspend();
    stream.write(`indexed ${path}\n`);
    progress.resume();
  });
  progress.close();
}

describe('progressMode', () => {
  it('draws a bar only on a terminal that reports a usable width', () => {
    expect(progressMode(fakeStream({ isTTY: true, columns: 120 }), {})).toBe('bar');
    expect(progressMode(fakeStream({ isTTY: true, columns: MIN_BAR_COLUMNS }), {})).toBe('bar');
  });

  it('writes plain lines to pipes and files, to terminals without a width, and to TERM=dumb', () => {
    expect(progressMode(fakeStream({ isTTY: false, columns: 120 }), {})).toBe('lines');
    expect(progressMode(fakeStream({}), {})).toBe('lines');
    expect(progressMode(fakeStream({ isTTY: true, columns: 0 }), {})).toBe('lines');
    expect(progressMode(fakeStream({ isTTY: true }), {})).toBe('lines');
    expect(progressMode(fakeStream({ isTTY: true, columns: NaN }), {})).toBe('lines');
    expect(progressMode(fakeStream({ isTTY: true, columns: MIN_BAR_COLUMNS - 1 }), {})).toBe('lines');
    expect(progressMode(fakeStream({ isTTY: true, columns: 120 }), { TERM: 'dumb' })).toBe('lines');
  });
});

describe('IndexProgress on a terminal that reports 0 columns (script -qc, some CI runners)', () => {
  it('never throws, and writes whole lines without carriage returns or escape codes', () => {
    const stream = fakeStream({ isTTY: true, columns: 0 });
    const progress = new IndexProgress(stream, 2);
    expect(() => drive(progress, stream, ['a.mp4', 'b.mp4'])).not.toThrow();
    expect(stream.out).not.toMatch(/[\r\x1b]/);
    expect(stream.out.endsWith('\n')).toBe(true);
    expect(stream.out).toContain('indexed a.mp4\n');
    expect(stream.out).toContain('[2/2] b.mp4');
  });
});

describe('IndexProgress writing plain lines', () => {
  it('writes a line when a file starts, then at most one per interval while the percentage moves', () => {
    const stream = fakeStream({ isTTY: false });
    const c = clock();
    const progress = new IndexProgress(stream, 3, { lineIntervalMs: 5000, now: c.now });
    progress.update(0, 'clip.mp4', { stage: 'probing', fraction: 0 });
    progress.update(0, 'clip.mp4', { stage: 'sampling', fraction: 0.1 });
    c.advance(4999);
    progress.update(0, 'clip.mp4', { stage: 'sampling', fraction: 0.3, framesDone: 9 });
    c.advance(1);
    progress.update(0, 'clip.mp4', { stage: 'sampling', fraction: 0.5, framesDone: 15 });
    c.advance(6000);
    // Unchanged percentage: nothing new to say.
    progress.update(0, 'clip.mp4', { stage: 'sampling', fraction: 0.5, framesDone: 15 });
    const lines = stream.out.split('\n').filter(Boolean);
    expect(lines).toEqual(['  0% probing    [1/3] clip.mp4', ' 50% sampling   15 frames [1/3] clip.mp4']);
  });

  it('keeps the files in flight apart: each starts with its own line', () => {
    const stream = fakeStream({ isTTY: false });
    const progress = new IndexProgress(stream, 2, { now: clock().now });
    progress.update(0, 'a.mp4', { stage: 'probing', fraction: 0 });
    progress.update(1, 'b.mp4', { stage: 'probing', fraction: 0 });
    expect(stream.out).toBe('  0% probing    [1/2] a.mp4\n  0% probing    [2/2] b.mp4\n');
  });

  it('writes nothing at all when off (--json)', () => {
    const stream = fakeStream({ isTTY: true, columns: 100 });
    const progress = new IndexProgress(stream, 1, { mode: 'off' });
    progress.update(0, 'a.mp4', { stage: 'probing', fraction: 0 });
    progress.finish(0);
    progress.close();
    expect(stream.out).toBe('');
  });
});

describe('IndexProgress drawing a bar', () => {
  it('redraws one line in place, never wider than the terminal, and erases it before other output', () => {
    const stream = fakeStream({ isTTY: true, columns: 60 });
    const progress = new IndexProgress(stream, 1, { now: clock().now });
    const long = `${'very-long-folder-name/'.repeat(5)}clip.mp4`;
    progress.update(0, long, { stage: 'sampling', fraction: 0.5, framesDone: 20 });
    const draws = stream.out.split('\r\x1b[K').filter(Boolean);
    expect(draws).toHaveLength(1);
    expect([...draws[0]].length).toBeLessThanOrEqual(59);
    expect(draws[0]).toMatch(/^█{10}░{10}  50% sampling/);
    expect(draws[0]).not.toContain('\n');

    progress.finish(0);
    progress.suspend();
    expect(stream.out.endsWith('\r\x1b[K')).toBe(true);
  });

  it('stops drawing, without throwing, when the terminal is resized to no usable width', () => {
    const stream = fakeStream({ isTTY: true, columns: 80 });
    const c = clock();
    const progress = new IndexProgress(stream, 1, { now: c.now });
    progress.update(0, 'a.mp4', { stage: 'sampling', fraction: 0.2 });
    const before = stream.out;
    stream.columns = 0;
    c.advance(1000);
    expect(() => progress.update(0, 'a.mp4', { stage: 'sampling', fraction: 0.6 })).not.toThrow();
    // The old bar is erased and no new one is drawn.
    expect(stream.out).toBe(`${before}\r\x1b[K`);
    expect(() => progress.close()).not.toThrow();
  });

  it('limits redraws to one per 100 ms, but always shows a finished file', () => {
    const stream = fakeStream({ isTTY: true, columns: 80 });
    const c = clock();
    const progress = new IndexProgress(stream, 1, { now: c.now });
    for (let i = 0; i < 50; i++) {
      progress.update(0, 'a.mp4', { stage: 'sampling', fraction: i / 100 });
      c.advance(10);
    }
    progress.update(0, 'a.mp4', { stage: 'done', fraction: 1 });
    const draws = stream.out.split('\r\x1b[K').filter(Boolean);
    expect(draws.length).toBeLessThanOrEqual(7);
    expect(draws.at(-1)).toContain('100% done');
  });

  it('draws odd fractions (NaN, below 0, above 1) as an empty or full bar', () => {
    const stream = fakeStream({ isTTY: true, columns: 80 });
    const c = clock();
    const progress = new IndexProgress(stream, 1, { now: c.now });
    for (const fraction of [NaN, -3, 7]) {
      expect(() => progress.update(0, 'a.mp4', { stage: 'sampling', fraction })).not.toThrow();
      c.advance(1000);
    }
    expect(stream.out).toContain('░'.repeat(20) + '   0%');
    expect(stream.out).toContain('█'.repeat(20) + ' 100%');
  });
});
