import { expect, it } from 'vitest';
import { loadOpenCv } from '../../src/core/verify/local-features.js';

// Its own file: each test file starts in a fresh process, so OpenCV is not loaded yet here.
it('loading OpenCV leaves the process-wide error handlers as they were', async () => {
  const before = [process.listenerCount('unhandledRejection'), process.listenerCount('uncaughtException')];
  const { cv } = await loadOpenCv();
  expect(typeof cv.ORB).toBe('function');
  expect([process.listenerCount('unhandledRejection'), process.listenerCount('uncaughtException')]).toEqual(before);
});
