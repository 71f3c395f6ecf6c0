import { describe, expect, it } from 'vitest';
import { regionPair } from '../../src/core/candidates/region-pair.js';
import { DEFAULT_SEARCH } from '../../src/core/settings/search-settings.js';
import { matchedWindow, unverifiableFloor, verificationCanReject, windowOfEvidence } from '../../src/core/verify/judge-segments.js';

const verify = DEFAULT_SEARCH.verify;

describe('verificationCanReject', () => {
  it('lets geometry reject a query with about as many pixels as the working size, portrait or not', () => {
    expect(verificationCanReject({ width: 640, height: 360, lowInformation: false }, verify)).toBe(true);
    // Narrower than 240 px but more pixels than a 320×180 frame: keypoints have enough to say no.
    expect(verificationCanReject({ width: 204, height: 360, lowInformation: false }, verify)).toBe(true);
  });

  it('only lets geometry confirm a query with far fewer pixels, which keypoints see upscaled', () => {
    expect(verificationCanReject({ width: 200, height: 150, lowInformation: false }, verify)).toBe(false);
    expect(verificationCanReject({ width: 100, height: 176, lowInformation: false }, verify)).toBe(false);
  });

  it('never lets geometry reject a still with too little information', () => {
    expect(verificationCanReject({ width: 1280, height: 720, lowInformation: true }, verify)).toBe(false);
  });
});

describe('matchedWindow', () => {
  const windows = {
    panels: [
      { x: 0, y: 0, width: 0.5, height: 1 },
      { x: 0.5, y: 0, width: 0.5, height: 1 },
    ],
    inset: { x: 0.6, y: 0.6, width: 0.3, height: 0.3 },
  };
  const panel1 = regionPair(1, { key: 'panel 1', kind: 'panel', flipped: false, panel: 1 }, 0);
  const inset = regionPair(1, { key: 'inset/flip', kind: 'inset', flipped: true }, 0);
  const whole = regionPair(1, { key: 'whole', kind: 'whole', flipped: false }, 0);

  it('names the panel that carried most of the evidence, widened by 3 % of its size', () => {
    const r = matchedWindow(
      [
        { w: 0.6, pair: panel1 },
        { w: 0.3, pair: whole },
      ],
      windows,
    );
    expect(r).toBeDefined();
    expect(r!.x).toBeCloseTo(0.485, 3);
    expect(r!.width).toBeCloseTo(0.515, 3);
    expect(r!.y).toBe(0);
    expect(r!.height).toBe(1);
  });

  it('names the inset, mirrored or not', () => {
    const r = matchedWindow([{ w: 1, pair: inset }], windows);
    expect(r!.x).toBeCloseTo(0.591, 3);
  });

  it('compares the whole frame when the whole picture carried more than half the evidence', () => {
    expect(
      matchedWindow(
        [
          { w: 0.4, pair: panel1 },
          { w: 0.6, pair: whole },
        ],
        windows,
      ),
    ).toBeUndefined();
    expect(matchedWindow([{ w: 1, pair: panel1 }], undefined)).toBeUndefined();
  });

  it('gives the window as detected for describing the copy, and none for an inset that carried no evidence (a caption box)', () => {
    expect(windowOfEvidence([{ w: 1, pair: inset }], windows)).toEqual(windows.inset);
    expect(windowOfEvidence([{ w: 1, pair: whole }], windows)).toBeUndefined();
  });
});

describe('unverifiableFloor', () => {
  it('keeps the ordinary floor for a reference whose file is gone', () => {
    expect(unverifiableFloor('reference file not found', 0.56, verify)).toBe(0.56);
  });

  it('asks for temporal evidence that stands alone when a decode fails now (query frames, a timeout, a broken file)', () => {
    for (const reason of ['query frames: CORRUPT_MEDIA', 'CORRUPT_MEDIA', 'decode failed'])
      expect(unverifiableFloor(reason, 0.56, verify)).toBe(verify.abstainMinScore);
    expect(unverifiableFloor('CORRUPT_MEDIA', 0.9, verify)).toBe(0.9);
  });
});
