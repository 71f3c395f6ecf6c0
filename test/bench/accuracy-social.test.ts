/**
 * The social-media families (issue 15): opt-in, drawn in their documented ranges with half of the
 * queries in each variant, ground truth (intervals, speed, rectangles) consistent with the spec,
 * social negatives in both negative sets, and — with ffmpeg, on clips whose brightness encodes
 * the x coordinate — rectangles that match the pixels of the generated files.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import {
  ALL_FAMILIES,
  buildVideoJob,
  drawSocialEdit,
  fitCanvas,
  KNOWN_FAMILIES,
  SOCIAL_FAMILIES,
  SOCIAL_QUERY_FAMILIES,
  socialClipFits,
  familyDifficulty,
  isPositiveFamily,
  type ClipInfo,
  type SocialFamily,
  type VideoQuerySpec,
} from '../../bench/accuracy/edit-families.js';
import { parseAccuracyArgs } from '../../bench/accuracy/main.js';
import type { NormRect } from '../../bench/accuracy/metrics.js';
import { allocateSocialNegatives, planLargeNegatives, type NegativeSource } from '../../bench/accuracy/negative-set.js';
import { planQueries, specHash, splitCorpus, withSocial } from '../../bench/accuracy/query-set.js';
import { createRng } from '../../bench/common/seeded-random.js';
import { resolveFfmpegPaths } from '../../src/core/media/ffmpeg-binaries.js';

const clip = (file: string, durationSec: number, width = 1280, height = 720): ClipInfo => ({
  file,
  path: `/corpus/${file}`,
  durationSec,
  width,
  height,
  fps: 25,
  sizeBytes: 1000 + durationSec,
});

const clips = [
  clip('a.mp4', 30),
  clip('b.webm', 8, 640, 360),
  clip('c.avi', 120, 320, 240),
  clip('d.mp4', 12, 540, 960),
  clip('e.mp4', 45),
  clip('f.mp4', 10, 320, 180),
  clip('g.mp4', 20, 1024, 1024),
  clip('h.mp4', 15, 800, 332),
  clip('i.mp4', 9),
  clip('j.mp4', 60),
  clip('k.mp4', 25, 960, 540),
  clip('l.mp4', 7, 480, 720),
];
const byName = new Map(clips.map((c) => [c.file, c]));
const area = (r: NormRect): number => r.width * r.height;
const centre = (r: NormRect): [number, number] => [r.x + r.width / 2, r.y + r.height / 2];

describe('social families are opt-in', () => {
  it('are not among the default families, and --social or --families adds them', () => {
    for (const f of SOCIAL_QUERY_FAMILIES) {
      expect(ALL_FAMILIES).not.toContain(f);
      expect(KNOWN_FAMILIES).toContain(f);
      expect(familyDifficulty(f)).toBe('social');
    }
    expect(isPositiveFamily('vertical')).toBe(true);
    expect(isPositiveFamily('neg-social')).toBe(false);
    expect(withSocial(ALL_FAMILIES, false)).toEqual([...ALL_FAMILIES]);
    expect(withSocial(ALL_FAMILIES, true)).toEqual([...ALL_FAMILIES, ...SOCIAL_QUERY_FAMILIES]);
    expect(withSocial(['crop', 'split'], true)).toEqual([
      'crop',
      'split',
      'vertical',
      'vertical-blur',
      'crop-heavy',
      'inset-small',
      'speed-extreme',
      'neg-social',
    ]);
    expect(parseAccuracyArgs(['--corpus', '/t', '--social', '--generate-only'])).toEqual({ corpus: '/t', social: true, generateOnly: true });
    expect(parseAccuracyArgs(['--corpus', '/t', '--families', 'vertical,neg-social']).families).toEqual(['vertical', 'neg-social']);
    expect(() => parseAccuracyArgs(['--corpus', '/t', '--families', 'tiktok'])).toThrow(/speed-extreme/);
  });
});

describe('social queries', () => {
  const { reference, pool } = splitCorpus(clips, 4);
  const opts = { perFamily: 8, negativeMultiplier: 2, families: SOCIAL_QUERY_FAMILIES, fontFile: null, segmentSec: [6, 20] as [number, number] };

  it('draw their parameters in the documented ranges, half of the queries in each variant', () => {
    for (const seed of [1, 2, 3]) {
      const plans = planQueries(reference, pool, seed, opts);
      const refs = new Set(reference.map((c) => c.file));
      const pooled = new Set(pool.map((c) => c.file));
      for (const p of plans) {
        const v = p.video!;
        const i = Number(p.id.slice(-2));
        const job = buildVideoJob(v, byName, '/out.mp4');
        const t = job.transform;
        expect((job.width % 2) + (job.height % 2)).toBe(0);
        // Within the 1280 × 720 cap, either way round.
        expect(Math.max(job.width, job.height)).toBeLessThanOrEqual(1280);
        expect(Math.min(job.width, job.height)).toBeLessThanOrEqual(720);
        expect(t.mirrored).toBe(false);
        if (p.family === 'neg-social') {
          expect(p.positive).toBe(false);
          expect(pooled.has(p.origin.file)).toBe(true);
        } else {
          expect(p.positive).toBe(true);
          expect(refs.has(p.origin.file)).toBe(true);
          expect(v.parts).toEqual([p.family]);
        }
        const c = v.compose;
        if (c && 'background' in c) {
          expect(pooled.has(c.background.clip)).toBe(true);
          expect(c.background.clip).not.toBe(p.origin.file);
        }
        if (v.encode.codec === 'libx264') expect(v.encode.crf >= 23 && v.encode.crf <= 30).toBe(true);
        const family = p.family === 'neg-social' ? (v.parts[0] as SocialFamily) : (p.family as SocialFamily);
        switch (family) {
          case 'vertical': {
            expect(c?.op).toBe('reframe');
            if (c?.op !== 'reframe') break;
            expect(p.origin.width / p.origin.height).toBeGreaterThanOrEqual(1.2);
            expect(job.width / job.height).toBeCloseTo(9 / 16, 1);
            if (p.family === 'vertical' && i % 2 === 0) {
              expect(c.from).toBe(c.to);
              expect(Math.abs(c.from - 0.5)).toBeGreaterThanOrEqual(0.2);
              expect(t.refRect!.height).toBe(1);
              expect(t.refRect!.width).toBeCloseTo(((9 / 16) * p.origin.height) / p.origin.width, 2);
            } else if (p.family === 'vertical') {
              expect(Math.abs(c.to - c.from)).toBeGreaterThanOrEqual(0.5);
              expect(t.refRect).toBeUndefined();
              expect(t.refRectPath!.from.x).not.toBe(t.refRectPath!.to.x);
            }
            break;
          }
          case 'vertical-blur':
            expect(c?.op).toBe('blur-fill');
            expect(job.height).toBeGreaterThan(job.width);
            expect(t.refRect).toEqual({ x: 0, y: 0, width: 1, height: 1 });
            // The whole picture across the width, centred vertically.
            expect(t.queryRect.width).toBe(1);
            expect(t.queryRect.y + t.queryRect.height / 2).toBeCloseTo(0.5, 2);
            break;
          case 'split': {
            expect(c?.op).toBe('split');
            if (c?.op !== 'split') break;
            if (p.family === 'split') {
              expect(`${c.layout}/${c.fit}`).toBe(['side-by-side/crop', 'top-bottom/bars', 'side-by-side/bars', 'top-bottom/crop'][i % 4]);
            }
            const sbs = c.layout === 'side-by-side';
            expect(job.width > job.height).toBe(sbs);
            const q = t.queryRect;
            // The copy lies in its half.
            if (sbs) expect(c.copyFirst ? q.x + q.width <= 0.5 + 1e-9 : q.x >= 0.5).toBe(true);
            else expect(c.copyFirst ? q.y + q.height <= 0.5 + 1e-9 : q.y >= 0.5).toBe(true);
            if (c.fit === 'crop') {
              expect(sbs ? q.width : q.height).toBe(0.5);
              // The crop keeps the half's aspect ratio.
              const half = sbs ? job.width / 2 / job.height : job.width / (job.height / 2);
              expect((t.refRect!.width * p.origin.width) / (t.refRect!.height * p.origin.height)).toBeCloseTo(half, 1);
            } else {
              expect(t.refRect).toEqual({ x: 0, y: 0, width: 1, height: 1 });
            }
            break;
          }
          case 'crop-heavy': {
            expect(v.steps.map((s) => s.op)).toEqual(['crop']);
            const r = t.refRect!;
            expect(area(r)).toBeGreaterThanOrEqual(0.39);
            expect(area(r)).toBeLessThanOrEqual(0.61);
            const [cx, cy] = centre(r);
            expect(Math.max(Math.abs(cx - 0.5) / (1 - r.width || 1), Math.abs(cy - 0.5) / (1 - r.height || 1))).toBeGreaterThanOrEqual(0.24);
            break;
          }
          case 'inset-small':
            expect(c?.op).toBe('inset');
            expect(area(t.queryRect)).toBeGreaterThanOrEqual(0.115);
            expect(area(t.queryRect)).toBeLessThanOrEqual(0.255);
            break;
          case 'speed-extreme': {
            const f = v.steps[0]?.op === 'speed' ? v.steps[0].factor : NaN;
            expect(t.speed).toBe(f);
            const fast = i % 2 === 1;
            if (p.family === 'speed-extreme') expect(fast ? f >= 2.5 && f <= 4 : f >= 0.25 && f <= 0.4).toBe(true);
            const queryLen = v.copy.duration / f;
            if (p.family === 'speed-extreme') {
              expect(queryLen).toBeGreaterThanOrEqual(5.99);
              expect(queryLen).toBeLessThanOrEqual(20.01);
            }
            expect(job.truth).toEqual([{ queryStart: 0, queryEnd: queryLen, refStart: v.copy.start, refEnd: v.copy.start + v.copy.duration }]);
            expect(v.copy.start + v.copy.duration).toBeLessThanOrEqual(p.origin.durationSec);
            break;
          }
        }
      }
      expect(plans.filter((p) => p.family === 'neg-social')).toHaveLength(16);
    }
  });

  it('fall back to any clip when none suits, and hash their background clips', () => {
    expect(socialClipFits('vertical', clip('p.mp4', 10, 540, 960), 0, [6, 20])).toBe(false);
    expect(socialClipFits('speed-extreme', clip('s.mp4', 10), 1, [6, 20])).toBe(false);
    expect(socialClipFits('speed-extreme', clip('s.mp4', 10), 0, [6, 20])).toBe(true);
    const portrait = [clip('p1.mp4', 10, 540, 960), clip('p2.mp4', 9, 480, 720)];
    const plans = planQueries(portrait, clips.slice(0, 3), 1, { ...opts, families: ['vertical'] });
    expect(plans.map((p) => p.origin.file).sort()).toEqual(['p1.mp4', 'p1.mp4', 'p1.mp4', 'p1.mp4', 'p2.mp4', 'p2.mp4', 'p2.mp4', 'p2.mp4']);
    // A source narrower than 9:16 gives a window of its whole width.
    const job = buildVideoJob(plans.find((p) => p.origin.file === 'p1.mp4')!.video!, new Map([...portrait, ...clips].map((c) => [c.file, c])), '/o.mp4');
    expect(job.transform.refRect ?? job.transform.refRectPath?.from).toMatchObject({ x: 0, width: 1 });
    // The background clip is part of the file hash.
    const split = planQueries(reference, pool, 1, { ...opts, families: ['split'] })[0]!;
    const other = structuredClone(split);
    const bg = (other.video!.compose as Extract<VideoQuerySpec['compose'], { op: 'split' }>).background.clip;
    const changed = new Map(byName);
    changed.set(bg, { ...byName.get(bg)!, sizeBytes: 1 });
    expect(specHash(split, changed)).not.toBe(specHash(split, byName));
  });

  it('fit canvases within the cap either way round', () => {
    expect(fitCanvas({ w: 540, h: 960 }, { w: 1280, h: 720 })).toEqual({ w: 540, h: 960 });
    expect(fitCanvas({ w: 540, h: 960 }, { w: 640, h: 480 })).toEqual({ w: 360, h: 640 });
    expect(fitCanvas({ w: 1280, h: 720 }, { w: 640, h: 480 })).toEqual({ w: 640, h: 360 });
  });

  it('speed-extreme sizes its copy from the speed', () => {
    for (let s = 0; s < 30; s++) {
      const slow = drawSocialEdit('speed-extreme', createRng(s), { copyClip: clip('x.mp4', 9), pool, querySec: [6, 20], index: 0 });
      const f = slow.steps[0]?.op === 'speed' ? slow.steps[0].factor : NaN;
      expect(slow.copy.duration / f).toBeGreaterThanOrEqual(5.99);
      expect(slow.copy.duration).toBeLessThanOrEqual(8.9);
      const fast = drawSocialEdit('speed-extreme', createRng(s), { copyClip: clip('y.mp4', 30), pool, querySec: [6, 20], index: 1 });
      const g = fast.steps[0]?.op === 'speed' ? fast.steps[0].factor : NaN;
      expect(g).toBeLessThanOrEqual(29.9 / 6 + 1e-9);
      expect(fast.copy.duration / g).toBeGreaterThanOrEqual(5.99);
      expect(fast.copy.start + fast.copy.duration).toBeLessThanOrEqual(30);
    }
  });
});

describe('social negatives in the large negative set', () => {
  const { pool } = splitCorpus(clips, 2);
  const sources: NegativeSource[] = pool.map((c) => ({ clip: c, corpus: 'tuning' as const }));

  it('come on top of the regular ones, which stay exactly as without them', () => {
    expect(allocateSocialNegatives(1000, 0.4)).toHaveLength(240);
    expect(allocateSocialNegatives(20, 0.4)).toHaveLength(6);
    expect(allocateSocialNegatives(10, 1)).toHaveLength(0);
    const plain = planLargeNegatives(sources, 2, { count: 60, fontFile: null });
    const social = planLargeNegatives(sources, 2, { count: 60, fontFile: null, withSocial: true });
    expect(JSON.stringify(social.slice(0, 60))).toBe(JSON.stringify(plain));
    const extra = social.slice(60);
    expect(extra).toHaveLength(SOCIAL_FAMILIES.length * 2);
    const names = new Set(pool.map((c) => c.file));
    for (const p of extra) {
      expect(p.family).toBe('neg-social');
      expect(SOCIAL_FAMILIES).toContain(p.negFamily);
      expect(p.id).toBe(`ln-${p.negFamily}-${p.id.slice(-3)}`);
      expect(names.has(p.origin.file)).toBe(true);
      const job = buildVideoJob(p.video!, byName, '/o.mp4');
      expect(Math.max(job.width, job.height)).toBeLessThanOrEqual(640);
      expect(Math.min(job.width, job.height)).toBeLessThanOrEqual(480);
      const c = p.video!.compose;
      if (c && 'background' in c) expect(names.has(c.background.clip)).toBe(true);
    }
  });
});

describe('social ground truth matches the generated pixels', () => {
  let dir: string;
  let ffmpeg: string;
  let files: Map<string, ClipInfo>;

  // Luma 60 + 180·x/W (never near black: cropdetect averages whole lines), chroma-blue 255·y/H: a frame's mean luma tells the mean x it shows.
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'retrace-social-'));
    ffmpeg = resolveFfmpegPaths().ffmpeg;
    const make = (name: string, src: string): ClipInfo => {
      const path = join(dir, name);
      execFileSync(ffmpeg, [
        '-hide_banner',
        '-loglevel',
        'error',
        '-y',
        '-f',
        'lavfi',
        '-i',
        src,
        '-t',
        '6',
        '-c:v',
        'libx264',
        '-qp',
        '0',
        '-preset',
        'ultrafast',
        path,
      ]);
      return { file: name, path, durationSec: 6, width: 640, height: 360, fps: 25, sizeBytes: 1 };
    };
    const grad = make('grad.mp4', "nullsrc=s=640x360:r=25,geq=lum='60+180*X/W':cb='255*Y/H':cr=128,format=yuv420p");
    const black = make('black.mp4', 'color=c=black:s=640x360:r=25,format=yuv420p');
    files = new Map([grad, black].map((c) => [c.file, c]));
  }, 60_000);

  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const generate = (
    name: string,
    compose: VideoQuerySpec['compose'],
    steps: VideoQuerySpec['steps'] = [],
  ): { out: string; job: ReturnType<typeof buildVideoJob> } => {
    const out = join(dir, `${name}.mp4`);
    const spec: VideoQuerySpec = {
      copy: { clip: 'grad.mp4', start: 0.5, duration: 4 },
      steps,
      compose,
      encode: { codec: 'libx264', crf: 12, container: 'mp4' },
      parts: [],
    };
    const job = buildVideoJob(spec, files, out);
    execFileSync(ffmpeg, job.args);
    return { out, job };
  };
  /** Mean luma of frame n, and the bounding box (x, y, w, h) of its pixels brighter than black. */
  const stats = (file: string, n: number): { luma: number; box: [number, number, number, number] } => {
    // cropdetect says nothing of the first two frames it sees: give it frames n − 2 … n, read the last.
    const r = spawnSync(
      ffmpeg,
      [
        '-hide_banner',
        '-i',
        file,
        '-vf',
        `select=between(n\\,${n - 2}\\,${n}),signalstats,metadata=print:key=lavfi.signalstats.YAVG,cropdetect=limit=24:round=2:reset=1`,
        '-f',
        'null',
        '-',
      ],
      { encoding: 'utf8' },
    );
    const luma = Number([...r.stderr.matchAll(/YAVG=([\d.]+)/g)].at(-1)?.[1]);
    const m = [...r.stderr.matchAll(/crop=(\d+):(\d+):(\d+):(\d+)/g)].at(-1);
    if (!Number.isFinite(luma) || !m) throw new Error(`no stats for ${file}: ${r.stderr.slice(-500)}`);
    const [w, h, x, y] = m.slice(1).map(Number) as [number, number, number, number];
    return { luma, box: [x, y, w, h] };
  };
  /** The mean x (fraction of the source width) a frame of gradient shows. */
  const meanX = (luma: number): number => (luma - 60) / 180;

  it('vertical: a fixed window shows its refRect, a panning one moves from one rectangle to the other', () => {
    const fixed = generate('fixed', { op: 'reframe', aspect: 0.5625, canvas: { w: 360, h: 640 }, from: 0.85, to: 0.85 });
    expect([fixed.job.width, fixed.job.height]).toEqual([360, 640]);
    const r = fixed.job.transform.refRect!;
    expect(meanX(stats(fixed.out, 50).luma)).toBeCloseTo(centre(r)[0], 1);
    const pan = generate('pan', { op: 'reframe', aspect: 0.5625, canvas: { w: 360, h: 640 }, from: 0.9, to: 0.1 });
    const path = pan.job.transform.refRectPath!;
    expect(Math.abs(meanX(stats(pan.out, 2).luma) - (centre(path.from)[0] + 0.02 * (centre(path.to)[0] - centre(path.from)[0])))).toBeLessThan(0.03);
    // Frame 99 of 100 (4 s at 25 fps): 99 % of the way.
    const end = centre(path.from)[0] + 0.99 * (centre(path.to)[0] - centre(path.from)[0]);
    expect(Math.abs(meanX(stats(pan.out, 99).luma) - end)).toBeLessThan(0.03);
  });

  it('crop-heavy and a split crop show their refRect; an inset and a split with bars sit at their queryRect', () => {
    const crop = generate('crop', null, [{ op: 'crop', left: 0.45, right: 0.05, top: 0.1, bottom: 0.1 }]);
    expect(meanX(stats(crop.out, 10).luma)).toBeCloseTo(centre(crop.job.transform.refRect!)[0], 1);
    const split = generate('split', {
      op: 'split',
      layout: 'top-bottom',
      copyFirst: false,
      fit: 'crop',
      cropPos: 0.1,
      canvas: { w: 360, h: 640 },
      background: { clip: 'black.mp4', start: 0, duration: 4 },
    });
    const s = stats(split.out, 10);
    expect(s.box).toEqual([0, 320, 360, 320]);
    expect(split.job.transform.queryRect).toEqual({ x: 0, y: 0.5, width: 1, height: 0.5 });
    // Half the frame is black background: the copy's half has twice the mean luma above black.
    expect(meanX(2 * s.luma - 16)).toBeCloseTo(centre(split.job.transform.refRect!)[0], 1);
    const rectPx = (q: NormRect, w: number, h: number): number[] => [q.x * w, q.y * h, q.width * w, q.height * h].map(Math.round);
    for (const [name, compose] of [
      ['inset', { op: 'inset', background: { clip: 'black.mp4', start: 0, duration: 4 }, area: 0.2, x: 0.8, y: 0.3 }],
      [
        'bars',
        {
          op: 'split',
          layout: 'side-by-side',
          copyFirst: true,
          fit: 'bars',
          cropPos: 0,
          canvas: { w: 640, h: 360 },
          background: { clip: 'black.mp4', start: 0, duration: 4 },
        },
      ],
    ] as const) {
      const g = generate(name, compose);
      const box = stats(g.out, 10).box;
      const want = rectPx(g.job.transform.queryRect, g.job.width, g.job.height);
      for (let k = 0; k < 4; k++) expect(Math.abs((box[k] as number) - (want[k] as number)), `${name} ${box} ≠ ${want}`).toBeLessThanOrEqual(2);
    }
  });

  it('vertical-blur: the sharp copy across the width, centred, blurred copy above and below', () => {
    const g = generate('blur', { op: 'blur-fill', canvas: { w: 360, h: 640 }, sigma: 20, dim: 0 });
    expect([g.job.width, g.job.height]).toEqual([360, 640]);
    expect(g.job.transform.queryRect).toEqual({ x: 0, y: 0.3422, width: 1, height: 0.3156 });
    // Every part of the frame shows picture (no black bars).
    expect(stats(g.out, 10).box).toEqual([0, 0, 360, 640]);
  });
});
