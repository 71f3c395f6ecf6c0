/**
 * The web page on a server that requires API keys, in Debian's Chromium (playwright-core): it
 * asks for a key when the server answers 401, keeps it in sessionStorage for this tab, sends it
 * with every request, and still shows thumbnails and the player (which cannot send headers).
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromium, type Browser, type Page } from 'playwright-core';
import { ApiKeyStore } from '../../src/core/auth/api-keys.js';
import type { RunningServer } from '../../src/server/index.js';
import { extractStill, makeClip, makeTempDir, type TempDir } from '../helpers/media-fixtures.js';
import { openTestEngine, startTestServer, type TestEngine } from './server-helpers.js';

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

describe.skipIf(!existsSync(CHROMIUM))('web page with API keys, in Chromium', () => {
  let te: TestEngine;
  let tmp: TempDir;
  let srv: RunningServer;
  let browser: Browser;
  let page: Page;
  let searchKey = '';
  let still = '';
  const pageErrors: string[] = [];

  beforeAll(async () => {
    tmp = await makeTempDir('retrace-e2e-keys-');
    te = await openTestEngine();
    const ref = await makeClip(tmp, 'ref', { source: 'mandelbrot', durationSec: 4, width: 192, height: 144 });
    still = await extractStill(ref, 2, tmp.file('still.jpg'), 'hflip');
    await te.engine.index(ref, { title: 'Mandelbrot zoom' });
    searchKey = (await new ApiKeyStore(te.engine.sql).create({ scope: 'search', name: 'browser' })).key;
    // Query frames are shown beside matches only while the query file is kept.
    srv = await startTestServer(te.engine, join(tmp.path, 'data'), { keepQueries: true });
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS });
    page = await browser.newPage({ viewport: { width: 1100, height: 900 } });
    page.on('pageerror', (e) => pageErrors.push(e.message));
    page.on('filechooser', () => {});
    await page.goto(srv.url);
  });

  afterAll(async () => {
    await browser?.close();
    await srv?.close();
    await te?.close();
    await tmp?.cleanup();
  });

  it('asks for a key when the server answers 401', async () => {
    await page.waitForSelector('#key-dialog[open]');
    await expect(page.evaluate(() => sessionStorage.getItem('retrace.apiKey.v1'))).resolves.toBeNull();
  });

  it('with the key, searches and shows the match with its frames and player', async () => {
    await page.fill('#key-input', searchKey);
    await page.click('#key-form button[type="submit"]');
    await page.waitForSelector('#key-dialog:not([open])', { state: 'attached' });
    await expect(page.evaluate(() => sessionStorage.getItem('retrace.apiKey.v1'))).resolves.toBe(searchKey);
    await expect(page.isVisible('#forget-key')).resolves.toBe(true);

    await page.check('input[name="mode"][value="search"]');
    await page.setInputFiles('#file', still);
    await page.waitForSelector('.match', { timeout: 90_000 });
    await expect(page.locator('.match .match-title').first().textContent()).resolves.toContain('Mandelbrot zoom');
    // Thumbnails come through fetch with the key, shown from blob: URLs, and decode.
    await page.waitForFunction(
      () => {
        const imgs = Array.from(document.querySelectorAll('.match .pair img')) as HTMLImageElement[];
        return imgs.length >= 2 && imgs.every((i) => i.src.startsWith('blob:') && i.complete && i.naturalWidth > 0);
      },
      undefined,
      { timeout: 30_000 },
    );
    await page.waitForFunction(
      () => {
        const v = document.querySelector('#player') as HTMLVideoElement | null;
        return !!v && v.readyState >= 1 && (v.getAttribute('src') ?? '').startsWith('blob:');
      },
      undefined,
      { timeout: 30_000 },
    );
  });

  it('keeps the key across a reload of the tab, and forgets it on request', async () => {
    await page.reload();
    await page.waitForSelector('.match', { timeout: 30_000 });
    await expect(page.isVisible('#key-dialog')).resolves.toBe(false);
    await page.click('#forget-key');
    await page.waitForSelector('#key-dialog[open]');
    await expect(page.evaluate(() => sessionStorage.getItem('retrace.apiKey.v1'))).resolves.toBeNull();
    expect(pageErrors).toEqual([]);
  });

  it('on a --public-search server, lets a visitor without a key search, without asking for one', async () => {
    const open = await startTestServer(te.engine, join(tmp.path, 'public'), { publicSearch: true });
    const visitor = await browser.newPage({ viewport: { width: 1100, height: 900 } });
    const errors: string[] = [];
    visitor.on('pageerror', (e) => errors.push(e.message));
    try {
      await visitor.goto(open.url);
      await visitor.check('input[name="mode"][value="search"]');
      await visitor.setInputFiles('#file', still);
      await visitor.waitForSelector('.match', { timeout: 90_000 });
      await expect(visitor.locator('.match .match-title').first().textContent()).resolves.toContain('Mandelbrot zoom');
      await expect(visitor.isVisible('#key-dialog')).resolves.toBe(false);
      // The session cookie, not a key, made the search its own.
      const cookies = await visitor.context().cookies();
      expect(cookies.map((c) => c.name)).toContain('retrace_session');
      await expect(visitor.evaluate(() => sessionStorage.getItem('retrace.apiKey.v1'))).resolves.toBeNull();
      expect(errors).toEqual([]);
    } finally {
      await visitor.close();
      await open.close();
    }
  });
});
