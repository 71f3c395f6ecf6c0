/**
 * End to end through the web page, in Debian's Chromium driven by playwright-core:
 * index a generated clip through Uppy's dashboard, search with an edited copy (the tus upload
 * is interrupted, the page reloaded and the upload resumed from the server's offset), check the timeline markers against the API result,
 * then the "no copy found" case, the library view and a batch of videos added at once.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromium, type Browser, type Page } from 'playwright-core';
import type { RunningServer } from '../../src/server/index.js';
import { editClip, makeClip, makeTempDir, type TempDir } from '../helpers/media-fixtures.js';
import { json, openTestEngine, startTestServer, type TestEngine } from './server-helpers.js';

const CHROMIUM = '/usr/bin/chromium';
const ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];

describe.skipIf(!existsSync(CHROMIUM))('web page in Chromium', () => {
  let te: TestEngine;
  let tmp: TempDir;
  let srv: RunningServer;
  let browser: Browser;
  let page: Page;
  const clips = { ref: '', edited: '', unrelated: '' };
  const pageErrors: string[] = [];
  /** The page's requests to the API, kept to explain a wait that times out. */
  const apiLog: string[] = [];

  /** waitForSelector, failing with what the page showed and asked for instead of a bare timeout. */
  async function waitOrExplain(selector: string, timeout: number): Promise<void> {
    try {
      await page.waitForSelector(selector, { timeout });
    } catch (err) {
      const shown = await page.evaluate(() =>
        ['#up-text', '#job-text', '#error', '#resume-text', '#no-match'].map((s) => `${s}: ${document.querySelector(s)?.textContent?.trim() ?? '(none)'}`),
      );
      throw new Error(`${(err as Error).message}\n${shown.join('\n')}\nlast API requests:\n${apiLog.slice(-40).join('\n')}`, { cause: err });
    }
  }

  beforeAll(async () => {
    tmp = await makeTempDir('retrace-e2e-');
    te = await openTestEngine();
    [clips.ref, clips.unrelated] = await Promise.all([
      makeClip(tmp, 'ref', { source: 'mandelbrot', durationSec: 10 }),
      makeClip(tmp, 'unrelated', { source: 'life', durationSec: 6 }),
    ]);
    // An excerpt, mirrored, cropped and re-encoded at low quality.
    clips.edited = await editClip(clips.ref, tmp, 'edited-copy', {
      start: 2,
      duration: 6,
      vf: 'hflip,crop=iw*0.8:ih*0.8,scale=320:240',
      codecArgs: ['-c:v', 'libx264', '-preset', 'veryfast', '-crf', '30', '-pix_fmt', 'yuv420p'],
    });
    srv = await startTestServer(te.engine, join(tmp.path, 'data'), { chunkBytes: 16 * 1024 });
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS });
    page = await browser.newPage({ viewport: { width: 1100, height: 900 } });
    page.on('pageerror', (e) => pageErrors.push(e.message));
    const t0 = Date.now();
    const logged = (r: import('playwright-core').Request, what: string) => {
      const path = new URL(r.url()).pathname;
      if (path.startsWith('/api/')) apiLog.push(`${((Date.now() - t0) / 1000).toFixed(2)}s ${r.method()} ${path} ${what}`);
    };
    page.on(
      'requestfinished',
      (r) =>
        void r.response().then(
          (res) => logged(r, String(res?.status() ?? '?')),
          () => {}, // the page closed first
        ),
    );
    page.on('requestfailed', (r) => logged(r, `failed: ${r.failure()?.errorText ?? '?'}`));
    page.on('dialog', (d) => void d.accept());
    // Enables file-chooser interception up front (it is switched on asynchronously otherwise,
    // and a key press can beat it).
    page.on('filechooser', () => {});
    await page.goto(srv.url);
  });

  afterAll(async () => {
    await browser?.close();
    await srv?.close();
    await te?.close();
    await tmp?.cleanup();
  });

  it('indexes a clip through the page', async () => {
    await expect(page.title()).resolves.toContain('retrace');
    await page.check('input[name="mode"][value="index"]');
    await page.fill('#title-input', 'Mandelbrot zoom');
    await page.setInputFiles('#file', clips.ref);
    await page.waitForSelector('#index-result', { timeout: 90_000 });
    await expect(page.textContent('#index-result h2')).resolves.toBe('Added to the library');
    await expect(page.textContent('#index-result')).resolves.toContain('Mandelbrot zoom');
    await expect(page.textContent('#library-count')).resolves.toBe('1');
  });

  // Retried once: it failed in 1 of 3 CI runs on 2026-12-07 (no match shown within 90 s after
  // the resumed upload; cause not found yet, it passes alone and in the other runs). A second
  // attempt starts without the first one's tus fingerprints.
  it('searches with an edited copy, surviving a reload mid-upload, and shows the match on a timeline', { retry: 1 }, async () => {
    await page.evaluate(() => {
      for (const key of Object.keys(localStorage)) if (key.startsWith('tus::')) localStorage.removeItem(key);
    });
    await page.reload();
    await page.check('input[name="mode"][value="search"]');
    // Let a few tus PATCH requests through, then the network "drops".
    let passed = 0;
    await page.route('**/api/uploads/*', async (route) => {
      if (route.request().method() !== 'PATCH' || passed < 3) {
        if (route.request().method() === 'PATCH') passed++;
        await route.continue();
      } else await route.abort('connectionreset');
    });
    await page.setInputFiles('#file', clips.edited);
    await page.waitForFunction(() => /retrying/.test(document.querySelector('#up-text')?.textContent ?? ''), undefined, { timeout: 30_000 });
    // Uppy's tus client remembered the upload in localStorage (its fingerprint and URL).
    const uploadUrl = await page.evaluate(() => {
      for (let i = 0; i < localStorage.length; i++) {
        const key = localStorage.key(i)!;
        if (key.startsWith('tus::')) return JSON.parse(localStorage.getItem(key)!).uploadUrl as string;
      }
      return null;
    });
    expect(uploadUrl).toBeTruthy();
    const uploadId = uploadUrl!.split('/').pop();
    const partial = await json(srv.url, `/api/uploads/${uploadId}`);
    expect(partial.body.receivedBytes).toBeGreaterThan(0);
    expect(partial.body.receivedBytes).toBeLessThan(partial.body.size);

    // Reload: the page offers to resume; the network is back.
    await page.unroute('**/api/uploads/*');
    await page.reload();
    await waitOrExplain('#resume:not([hidden])', 30_000);
    await expect(page.textContent('#resume-text')).resolves.toMatch(/edited-copy\.mp4.*stopped at \d+%/);
    const [chooser] = await Promise.all([page.waitForEvent('filechooser'), page.click('#resume-pick')]);
    await chooser.setFiles(clips.edited);
    await waitOrExplain('.match', 90_000);
    // The same upload was finished, not a new one started.
    const resumed = await json(srv.url, `/api/uploads/${uploadId}`);
    expect(resumed.body.status).toBe('completed');

    const jobId = await page.evaluate(() => localStorage.getItem('retrace.lastJob.v1'));
    const result = (await json(srv.url, `/api/jobs/${jobId}/result`)).body;
    expect(result.matches.length).toBeGreaterThan(0);
    const best = result.matches[0];
    const video = (await json(srv.url, `/api/videos/${best.videoId}`)).body;

    const card = page.locator('.match').first();
    await expect(card.locator('.match-title').textContent()).resolves.toContain('Mandelbrot zoom');
    await expect(card.locator('.score').textContent()).resolves.toBe(`${Math.round(best.score * 100)}%`);
    // One band per segment and one marker per matched frame, where the API says.
    expect(await card.locator('.seg').count()).toBe(best.segments.length);
    const expected = best.segments.flatMap((s: any) => s.frames.map((f: any) => f.refTime)).sort((a: number, b: number) => a - b);
    const markers = await card.locator('.marker').evaluateAll((els) =>
      els.map((e) => ({
        time: Number((e as HTMLElement).dataset.time),
        left: parseFloat((e as HTMLElement).style.left),
      })),
    );
    expect(markers.map((m) => m.time).sort((a, b) => a - b)).toEqual(expected);
    for (const m of markers) expect(m.left).toBeCloseTo((m.time / video.durationSec) * 100, 1);
    const seg = await card
      .locator('.seg')
      .first()
      .evaluate((e) => ({ left: parseFloat((e as HTMLElement).style.left), start: Number((e as HTMLElement).dataset.start) }));
    expect(seg.start).toBe(best.segments[0].refStart);
    expect(seg.left).toBeCloseTo((best.segments[0].refStart / video.durationSec) * 100, 1);

    // Query frame and reference frame side by side, both decoded.
    await page.waitForFunction(
      () => {
        const imgs = Array.from(document.querySelectorAll('.match .pair img')) as HTMLImageElement[];
        return imgs.length >= 2 && imgs.every((i) => i.complete && i.naturalWidth > 0);
      },
      undefined,
      { timeout: 30_000 },
    );
    // The player opens the reference at the start of the matched segment.
    const player = await page.waitForFunction(
      () => {
        const v = document.querySelector('#player') as HTMLVideoElement | null;
        return v && v.readyState >= 1 ? { src: v.getAttribute('src'), t: v.currentTime } : null;
      },
      undefined,
      { timeout: 30_000 },
    );
    const p = (await player.jsonValue())!;
    expect(p.src).toBe(`api/videos/${best.videoId}/stream`);
    expect(p.t).toBeCloseTo(best.segments[0].refStart, 0);
  });

  it('says "no copy found" for an unrelated clip (picked with the keyboard)', async () => {
    // Uppy's dashboard "browse" button.
    await page.focus('#uppy .uppy-Dashboard-browse');
    const [chooser] = await Promise.all([page.waitForEvent('filechooser'), page.keyboard.press('Enter')]);
    await chooser.setFiles(clips.unrelated);
    await page.waitForSelector('#no-match', { timeout: 90_000 });
    await expect(page.textContent('#no-match')).resolves.toContain('No copy found');
    await expect(page.textContent('#no-match')).resolves.toContain('None of the 1 video in the library');
    expect(await page.locator('.match').count()).toBe(0);
  });

  it('compares new videos and shows a cluster with its shared segments', async () => {
    const copy = await te.engine.index(clips.edited, { title: 'edited copy' });
    await page.click('#nav-duplicates');
    await page.click('#dup-run');
    await page.waitForSelector('.dup-cluster', { timeout: 90_000 });
    await expect(page.textContent('#dup-summary')).resolves.toContain('1 cluster');
    const cluster = page.locator('.dup-cluster').first();
    await expect(cluster.textContent()).resolves.toMatch(/Mandelbrot zoom (contains|related) edited copy|edited copy (contained-in|related) Mandelbrot zoom/);
    expect(await cluster.locator('.dup-videos li').count()).toBe(2);
    // The shared stretch drawn on both videos' timelines.
    expect(await cluster.locator('.dup-relation .seg').count()).toBeGreaterThanOrEqual(2);
    await te.engine.remove(copy.videoId);
    expect(pageErrors).toEqual([]);
  });

  it('lists the library and deletes a video', async () => {
    await page.click('#nav-library');
    await page.waitForSelector('#library-rows tr');
    const row = page.locator('#library-rows tr').first();
    await expect(row.textContent()).resolves.toContain('Mandelbrot zoom');
    await expect(row.locator('.badge').textContent()).resolves.toBe('ready');
    await expect(row.locator('td[data-label="Duration"]').textContent()).resolves.toBe('0:10');
    await row.locator('button', { hasText: 'Delete' }).click();
    await page.waitForSelector('#library-empty:not([hidden])');
    expect((await json(srv.url, '/api/videos')).body.total).toBe(0);
    expect(pageErrors).toEqual([]);
  });

  it('adds a batch of videos at once, showing upload speed and time left', async () => {
    await page.click('#nav-search');
    await page.check('input[name="mode"][value="index"]');
    await page.fill('#title-input', '');
    // A slow line (each tus PATCH held back), so the upload lasts long enough to be watched.
    await page.route('**/api/uploads/*', async (route) => {
      if (route.request().method() === 'PATCH') await new Promise((r) => setTimeout(r, 250));
      await route.continue();
    });
    await page.setInputFiles('#file', [clips.unrelated, clips.edited]);
    // Uppy's status bar says the time left; the page adds the speed.
    await page.waitForFunction(() => /\d+s left/.test(document.querySelector('#uppy .uppy-StatusBar')?.textContent ?? ''), undefined, { timeout: 30_000 });
    await page.waitForFunction(() => /of .*· .*\/s · .* left/.test(document.querySelector('#up-text')?.textContent ?? ''), undefined, { timeout: 30_000 });
    // Requests held back finish first.
    await page.unrouteAll({ behavior: 'wait' });
    const t0 = Date.now();
    let titles: string[] = [];
    while (Date.now() - t0 < 120_000) {
      const list = (await json(srv.url, '/api/videos')).body;
      titles = list.items.filter((v: { status: string }) => v.status === 'ready').map((v: { title: string }) => v.title);
      if (titles.length >= 2) break;
      await new Promise((r) => setTimeout(r, 250));
    }
    expect(titles.sort()).toEqual(['edited-copy', 'unrelated']);
    expect(pageErrors).toEqual([]);
  });
});
