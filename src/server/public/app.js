// retrace web page: plain ES module, no framework; uploads through Uppy (its bundle is served
// from node_modules at vendor/uppy/). All URLs are relative so the app can be mounted under any prefix.
import { Dashboard, Tus, Uppy } from './vendor/uppy/uppy.min.mjs';

const $ = (id) => document.getElementById(id);
const UPLOAD_KEY = 'retrace.upload.v1';
const LAST_JOB_KEY = 'retrace.lastJob.v1';
// The API key lives in sessionStorage: this tab only, gone when it closes.
const API_KEY = 'retrace.apiKey.v1';
const LIB_PAGE = 20;

const state = {
  busy: false,
  cancelled: false,
  jobId: null,
  events: null,
  libOffset: 0,
  /** The file of the last search, still in this tab: its frames are shown from here, as the server deletes queries once answered. */
  queryFile: null,
};

// ---------- small helpers

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') node.className = v;
    else if (k === 'text') node.textContent = v;
    else if (k === 'style') Object.assign(node.style, v);
    else if (k.startsWith('on')) node.addEventListener(k.slice(2), v);
    else if (k === 'dataset') Object.assign(node.dataset, v);
    else node.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat()) if (c !== null && c !== undefined && c !== false) node.append(c);
  return node;
}

function fmtTime(sec, decimals = 1) {
  if (!Number.isFinite(sec)) return '–';
  const s = Math.max(0, sec);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const rest = s - h * 3600 - m * 60;
  const ss = decimals > 0 ? rest.toFixed(decimals).padStart(3 + decimals, '0') : String(Math.floor(rest)).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${ss}` : `${m}:${ss}`;
}

function fmtBytes(n) {
  if (n < 1024) return `${n} B`;
  const units = ['KB', 'MB', 'GB', 'TB'];
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(v < 10 ? 1 : 0)} ${units[i]}`;
}

function plural(n, word) {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

function pct(x) {
  return `${Math.round(Math.max(0, Math.min(1, x)) * 100)}%`;
}

class ApiError extends Error {
  constructor(message, status, code, retryAfterSec = null) {
    super(message);
    this.status = status;
    this.code = code;
    /** The server's Retry-After, in seconds, when it sent one. */
    this.retryAfterSec = retryAfterSec;
  }
}

function retryAfter(value) {
  const n = Number(value);
  return Number.isFinite(n) && n >= 0 ? n : null;
}

// ---------- API key (asked for when the server answers 401)

function apiKey() {
  try {
    return sessionStorage.getItem(API_KEY);
  } catch {
    return null;
  }
}

function authHeaders() {
  const key = apiKey();
  return key ? { authorization: `Bearer ${key}` } : {};
}

let keyPrompt = null;
/** Ask for a key (one dialog however many requests were refused); resolves false if cancelled. */
function askForKey(message) {
  keyPrompt ??= new Promise((resolve) => {
    const dialog = $('key-dialog');
    const input = $('key-input');
    const text = $('key-text');
    if (message && apiKey()) {
      text.textContent = `The key was refused: ${message}`;
      text.classList.add('key-error');
    }
    input.value = '';
    const done = (ok) => {
      $('key-form').removeEventListener('submit', onSubmit);
      $('key-cancel').removeEventListener('click', onCancel);
      dialog.removeEventListener('cancel', onCancel);
      if (dialog.open) dialog.close();
      keyPrompt = null;
      resolve(ok);
    };
    const onSubmit = (e) => {
      e.preventDefault();
      const key = input.value.trim();
      if (!key) return;
      try {
        sessionStorage.setItem(API_KEY, key);
      } catch {
        /* private mode: asked again next time */
      }
      $('forget-key').hidden = false;
      done(true);
    };
    const onCancel = (e) => {
      e?.preventDefault?.();
      done(false);
    };
    $('key-form').addEventListener('submit', onSubmit);
    $('key-cancel').addEventListener('click', onCancel);
    dialog.addEventListener('cancel', onCancel);
    dialog.showModal();
    input.focus();
  });
  return keyPrompt;
}

function forgetKey() {
  try {
    sessionStorage.removeItem(API_KEY);
  } catch {
    /* ignore */
  }
  location.reload();
}

/** Whether the server lets clients without a key search (`retrace serve --public-search`). */
let publicSearch = null;
function isPublicSearch() {
  publicSearch ??= fetch('api/health')
    .then((r) => r.json())
    .then((h) => h?.access?.publicSearch === true)
    .catch(() => false);
  return publicSearch;
}

/**
 * Call the API. `optional`: on a public-search server without a key, a 401 is an answer (this
 * visitor may search but not read the library), not a reason to ask for a key.
 */
async function api(path, { method = 'GET', body, optional = false } = {}) {
  for (;;) {
    let res;
    try {
      res = await fetch(path, {
        method,
        headers: { ...authHeaders(), ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
        body: body !== undefined ? JSON.stringify(body) : undefined,
      });
    } catch {
      throw new ApiError('Cannot reach the server. Check the connection and try again.', 0, 'NETWORK');
    }
    if (res.status === 204) return null;
    let data = null;
    try {
      data = await res.json();
    } catch {
      /* not JSON */
    }
    if (res.status === 401 && !(optional && !apiKey() && (await isPublicSearch())) && (await askForKey(data?.error?.message))) continue;
    if (!res.ok)
      throw new ApiError(
        data?.error?.message ?? `Request failed (HTTP ${res.status})`,
        res.status,
        data?.error?.code ?? 'HTTP',
        retryAfter(res.headers.get('retry-after')),
      );
    return data;
  }
}

/**
 * Show `url` (a thumbnail or a video) in `node`. Without a key the element loads it itself; with
 * one it cannot send the header, so the bytes are fetched with it and shown from a blob: URL
 * (for a video that means the whole file first).
 */
async function setAuthedSrc(node, url) {
  if (!apiKey()) {
    node.setAttribute('src', url);
    return;
  }
  try {
    const res = await fetch(url, { headers: authHeaders() });
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
    const old = node.getAttribute('src');
    if (old?.startsWith('blob:')) URL.revokeObjectURL(old);
    node.setAttribute('src', URL.createObjectURL(await res.blob()));
  } catch {
    node.dispatchEvent(new Event('error'));
  }
}

/**
 * The query's frame at `t` seconds: drawn from the file still in this tab when there is one (the
 * server deletes its copy once the search ends, unless started with --keep-queries), else the
 * server's thumbnail (after a reload), else the element's error placeholder.
 */
async function showQueryFrame(img, job, t) {
  // A signature holds descriptors, not pictures.
  if (job.result.query.media === false) {
    img.replaceWith(el('div', { class: 'thumb-missing', text: 'A signature has no pictures' }));
    return;
  }
  const file = state.queryFile;
  if (file && file.name === job.fileName) {
    try {
      img.setAttribute('src', await localFrame(file, job.result.query.kind, t));
      return;
    } catch {
      /* a format this browser cannot decode: ask the server */
    }
  }
  await setAuthedSrc(img, `api/jobs/${job.id}/thumbnail?t=${t}&w=320`);
}

/** A JPEG data: URL of `file` at `t` (an image: the image itself), decoded by the browser. */
async function localFrame(file, kind, t) {
  if (kind === 'image') return URL.createObjectURL(file);
  const src = URL.createObjectURL(file);
  const v = document.createElement('video');
  v.muted = true;
  v.preload = 'auto';
  const event = (name) =>
    new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no ${name}`)), 10000);
      v.addEventListener(name, () => (clearTimeout(timer), resolve()), { once: true });
      v.addEventListener('error', () => (clearTimeout(timer), reject(new Error('decode'))), { once: true });
    });
  try {
    const loaded = event('loadeddata');
    v.src = src;
    await loaded;
    const at = Math.min(t, Math.max(0, (v.duration || 0) - 0.05));
    if (at > 0.001) {
      const seeked = event('seeked');
      v.currentTime = at;
      await seeked;
    }
    const w = 320;
    const h = Math.max(1, Math.round((w * v.videoHeight) / (v.videoWidth || w)));
    const canvas = el('canvas', { width: w, height: h });
    canvas.getContext('2d').drawImage(v, 0, 0, w, h);
    return canvas.toDataURL('image/jpeg', 0.85);
  } finally {
    v.removeAttribute('src');
    v.load();
    URL.revokeObjectURL(src);
  }
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function announce(text) {
  $('live').textContent = text;
}

// ---------- persisted upload (survives reload)

function loadSaved() {
  try {
    return JSON.parse(localStorage.getItem(UPLOAD_KEY) ?? 'null');
  } catch {
    return null;
  }
}
function save(s) {
  try {
    localStorage.setItem(UPLOAD_KEY, JSON.stringify(s));
  } catch {
    /* private mode */
  }
}
function clearSaved() {
  try {
    localStorage.removeItem(UPLOAD_KEY);
  } catch {
    /* ignore */
  }
}

// ---------- views

function currentMode() {
  return document.querySelector('input[name="mode"]:checked')?.value === 'index' ? 'index' : 'search';
}

function showView() {
  const view = location.hash === '#library' ? 'library' : location.hash === '#duplicates' ? 'duplicates' : 'search';
  for (const v of ['search', 'library', 'duplicates']) {
    $(`view-${v}`).hidden = v !== view;
    if (v === view) $(`nav-${v}`).setAttribute('aria-current', 'page');
    else $(`nav-${v}`).removeAttribute('aria-current');
  }
  if (view === 'library') void loadLibrary();
  if (view === 'duplicates') void loadDuplicates();
}

/** The dedup job the page is following (one at a time: the server runs one). */
let dupJob = null;

/**
 * The stored duplicate clusters (GET api/dedup), or, with `run`, start comparing the videos
 * indexed since (POST: a job, the one already running if there is one) and show them when it
 * ends. A job that is running when the view opens is followed too.
 */
async function loadDuplicates(run = false) {
  $('dup-error').hidden = true;
  let data;
  try {
    if (run) {
      $('dup-run').disabled = true;
      followDedup(await api('api/dedup', { method: 'POST' }));
      return;
    }
    data = await api('api/dedup');
  } catch (err) {
    $('dup-error').textContent = `Could not load duplicates: ${err.message}`;
    $('dup-error').hidden = false;
    $('dup-run').disabled = dupJob !== null;
    return;
  }
  renderDuplicates(data);
  if (data.job) followDedup(data.job);
}

/** Show a dedup job's progress until it ends (polled: it may run in another process), then the clusters. */
function followDedup(job) {
  if (dupJob === job.id) return;
  dupJob = job.id;
  $('dup-run').disabled = true;
  const tick = async () => {
    if (dupJob !== job.id) return;
    let j;
    try {
      j = await api(`api/jobs/${job.id}`);
    } catch (err) {
      dupJob = null;
      $('dup-run').disabled = false;
      $('dup-error').textContent = `Could not follow the comparison: ${err.message}`;
      $('dup-error').hidden = false;
      return;
    }
    if (!j.finishedAt) {
      $('dup-summary').textContent =
        j.stage === 'queued'
          ? 'Comparison waiting to start…'
          : j.items
            ? `Comparing videos with the library: ${j.items.done} of ${j.items.total}…`
            : 'Comparing videos with the library…';
      setTimeout(() => void tick(), 1000);
      return;
    }
    dupJob = null;
    $('dup-run').disabled = false;
    if (j.stage === 'failed') {
      $('dup-error').textContent = `The comparison failed: ${j.error?.message ?? 'unknown error'}${j.error?.code ? ` (${j.error.code})` : ''}`;
      $('dup-error').hidden = false;
    }
    await loadDuplicates();
  };
  void tick();
}

function renderDuplicates(data) {
  $('dup-summary').textContent =
    `${plural(data.clusters.length, 'cluster')} · ${plural(data.relations.length, 'relation')} among ${plural(data.videos, 'video')}` +
    (data.pending ? ` · ${data.pending} not compared yet` : '');
  const clusters = data.clusters.map((c, ci) =>
    el(
      'article',
      { class: 'panel dup-cluster', 'aria-label': `Cluster ${ci + 1}` },
      el('h2', { class: 'dup-title', text: `Cluster ${ci + 1}: ${plural(c.videos.length, 'video')}` }),
      el(
        'ul',
        { class: 'dup-videos' },
        ...c.videos.map((v) =>
          el(
            'li',
            {},
            v.media
              ? authedImg(`api/videos/${v.id}/thumbnail?t=${Math.min(1, v.durationSec / 2)}&w=160`, { alt: '', loading: 'lazy', width: 96, height: 54 })
              : el('span', { class: 'badge', text: 'signature' }),
            el('span', { class: 'v-title', text: v.title ?? v.path }),
            el('small', { class: 'muted', text: fmtTime(v.durationSec, 0) }),
          ),
        ),
      ),
      ...c.relations.map((ri) => relationView(data.relations[ri])),
    ),
  );
  $('dup-clusters').replaceChildren(...(clusters.length ? clusters : [el('p', { class: 'empty', text: 'No videos share footage (as far as compared).' })]));
}

function relationView(r) {
  const name = (v) => v.title ?? v.path;
  const bar = (v, side) =>
    el(
      'div',
      {
        class: 'timeline',
        role: 'img',
        'aria-label': `${name(v)}: shared ${r.segments.map((s) => `${fmtTime(s[side + 'Start'], 0)}–${fmtTime(s[side + 'End'], 0)}`).join(', ')}`,
      },
      el(
        'div',
        { class: 'track' },
        ...r.segments.map((s) => {
          const d = v.durationSec || 1;
          const left = Math.max(0, Math.min(100, (s[side + 'Start'] / d) * 100));
          const width = Math.max(1, Math.min(100 - left, ((s[side + 'End'] - s[side + 'Start']) / d) * 100));
          return el('span', { class: `seg ${s.verification === 'confirmed' ? 'high' : 'mid'}`, style: { left: `${left}%`, width: `${width}%` } });
        }),
      ),
    );
  return el(
    'div',
    { class: 'dup-relation' },
    el(
      'p',
      {},
      el('strong', { text: name(r.a) }),
      ` ${r.type} `,
      el('strong', { text: name(r.b) }),
      el('span', { class: 'muted', text: ` · score ${r.score.toFixed(2)}` }),
    ),
    bar(r.a, 'a'),
    bar(r.b, 'b'),
  );
}

/** While a job is followed on the page; files added meanwhile upload and wait their turn. */
function setBusy(busy) {
  state.busy = busy;
}

function showError(message, code, status) {
  const box = $('error');
  const userError =
    (status >= 400 && status < 500) ||
    /^(UNSUPPORTED_MEDIA|CORRUPT_MEDIA|NO_VIDEO_STREAM|MEDIA_TOO_LONG|TOO_MANY_FRAMES|INVALID_DIMENSIONS|EMPTY_FILE|FILE_TOO_LARGE)$/.test(code ?? '');
  const title = userError ? 'This file cannot be used. ' : code === 'NETWORK' ? 'Connection problem. ' : 'Something went wrong. ';
  box.replaceChildren(
    el('strong', { text: title }),
    document.createTextNode(message),
    code && code !== 'NETWORK' ? el('span', { class: 'code', text: ` (${code})` }) : null,
  );
  box.hidden = false;
}
function hideError() {
  $('error').hidden = true;
}

function setBar(id, fraction, indeterminate = false) {
  const bar = $(id);
  const f = Math.max(0, Math.min(1, fraction));
  bar.firstElementChild.style.width = `${(f * 100).toFixed(1)}%`;
  bar.classList.toggle('indeterminate', indeterminate);
  bar.setAttribute('aria-valuenow', String(Math.round(f * 100)));
}

function showProgress(name, size, purpose) {
  $('progress').hidden = false;
  $('progress-name').textContent = name;
  $('progress-meta').textContent = `${fmtBytes(size)} · ${purpose === 'index' ? 'adding to library' : 'searching'}`;
  $('cancel').hidden = false;
  $('cancel').textContent = 'Cancel';
  setBar('up-bar', 0);
  setBar('job-bar', 0);
  $('up-text').textContent = 'Starting…';
  $('job-text').textContent = 'Waiting for the upload';
  $('step-job').classList.add('pending');
  $('step-upload').classList.remove('pending');
  $('progress').scrollIntoView({ behavior: 'smooth', block: 'nearest' });
}

const STAGE_TEXT = {
  queued: 'Waiting in the queue',
  probing: 'Reading the file',
  sampling: 'Decoding frames',
  describing: 'Describing frames',
  storing: 'Saving to the library',
  matching: 'Searching the library',
  done: 'Done',
  failed: 'Failed',
};

function renderJobProgress(job) {
  $('step-job').classList.remove('pending');
  let text = STAGE_TEXT[job.stage] ?? job.stage;
  if (job.stage === 'queued' && job.queuePosition > 0) text += ` (${job.queuePosition} ahead)`;
  if (job.stage === 'sampling' && job.mediaTimeSec != null) text += ` · ${fmtTime(job.mediaTimeSec, 0)}`;
  if (job.framesDone != null && job.stage !== 'queued') text += ` · ${job.framesDone} frames`;
  if (job.stage !== 'queued' && job.stage !== 'failed') text += ` · ${pct(job.progress)}`;
  $('job-text').textContent = text;
  setBar('job-bar', job.stage === 'done' ? 1 : job.progress, job.stage === 'queued');
}

// ---------- upload (Uppy over tus 1.0)

/** Where Uppy's tus client remembers unfinished uploads (tus-js-client's localStorage keys). */
const TUS_PREFIX = 'tus::';

/** Unfinished uploads this browser started, as tus-js-client stored them: [{ key, name, size, uploadUrl }]. */
function unfinishedUploads() {
  const out = [];
  try {
    for (let i = 0; i < localStorage.length; i++) {
      const key = localStorage.key(i);
      if (!key?.startsWith(TUS_PREFIX)) continue;
      const u = JSON.parse(localStorage.getItem(key) ?? 'null');
      if (u?.uploadUrl) out.push({ key, name: u.metadata?.filename ?? u.metadata?.name ?? 'a file', size: u.size, uploadUrl: u.uploadUrl });
    }
  } catch {
    /* private mode */
  }
  return out;
}

function forgetUnfinished(key) {
  try {
    localStorage.removeItem(key);
  } catch {
    /* ignore */
  }
}

/** The tus upload id: the last segment of its URL. */
function uploadIdOf(url) {
  return decodeURIComponent(new URL(url, location.href).pathname.split('/').pop() ?? '');
}

/** The server's JSON error inside a tus-js-client error, as an ApiError. */
function tusError(err) {
  const res = err?.originalResponse;
  const status = res?.getStatus?.() ?? 0;
  let body = null;
  try {
    body = JSON.parse(res?.getBody?.() ?? '');
  } catch {
    /* tus's own plain-text answers */
  }
  if (!res) return new ApiError('Cannot reach the server. Check the connection and try again.', 0, 'NETWORK');
  return new ApiError(
    body?.error?.message ?? (res.getBody?.() || `Upload failed (HTTP ${status})`).trim(),
    status,
    body?.error?.code ?? 'HTTP',
    retryAfter(res.getHeader?.('retry-after')),
  );
}

let uppy = null;
/** Finished uploads waiting for their job to be followed on the page, one after another. */
const jobQueue = [];
let following = false;

function setupUppy(chunkBytes) {
  uppy = new Uppy({
    autoProceed: true,
    // `.sig`: a retrace signature (`retrace signatures make`), searched or indexed without media.
    restrictions: { allowedFileTypes: ['video/*', 'image/*', '.mkv', '.mov', '.avi', '.flv', '.ts', '.wmv', '.sig'] },
  })
    .use(Dashboard, {
      inline: true,
      target: '#uppy',
      width: '100%',
      height: 300,
      // Speed and time left while uploading.
      showProgressDetails: true,
      hideProgressAfterFinish: false,
      proudlyDisplayPoweredByUppy: false,
      theme: 'auto',
      note: 'Videos (MP4, WebM, MOV, MKV, AVI…) or images (JPEG, PNG, WebP). Add several at once to index a batch.',
    })
    .use(Tus, {
      endpoint: 'api/uploads',
      // Several requests per file (the server's chunk size), so a dropped connection costs at most one.
      chunkSize: chunkBytes,
      retryDelays: [0, 1000, 3000, 5000, 10000, 15000],
      headers: () => authHeaders(),
      // Kept until the upload is finished, so a reload resumes it (tus fingerprint in localStorage).
      storeFingerprintForResuming: true,
      removeFingerprintOnSuccess: true,
      onShouldRetry: (err, attempt, options, next) => {
        const status = err?.originalResponse?.getStatus?.() ?? 0;
        if (next(err) || status === 429) {
          $('up-text').textContent = `Upload interrupted (${tusError(err).message}); retrying…`;
          return true;
        }
        return false;
      },
    });

  uppy.on('files-added', (files) => {
    hideError();
    $('resume').hidden = true;
    const purpose = currentMode();
    const title = $('title-input').value.trim();
    for (const f of files) {
      // A title names one video: with a batch, each keeps its file name.
      uppy.setFileMeta(f.id, { purpose, ...(purpose === 'index' && title && files.length === 1 ? { title } : {}) });
    }
    if (purpose === 'search' && files[0]) state.queryFile = files[0].data;
    const first = files[0];
    if (first && !following)
      showProgress(
        files.length > 1 ? `${files.length} files` : first.name,
        files.reduce((n, f) => n + (f.size ?? 0), 0),
        purpose,
      );
  });
  // Speed over the last few seconds, and time left at that speed (Uppy's status bar shows time left only).
  const samples = [];
  uppy.on('progress', () => {
    if (following) return;
    let sent = 0;
    let total = 0;
    for (const f of uppy.getFiles()) {
      sent += f.progress?.bytesUploaded || 0;
      total += f.size ?? 0;
    }
    const now = performance.now();
    samples.push([now, sent]);
    while (samples.length > 2 && now - samples[0][0] > 5000) samples.shift();
    const [t0, b0] = samples[0];
    const speed = now - t0 > 500 ? ((sent - b0) * 1000) / (now - t0) : 0;
    setBar('up-bar', total ? sent / total : 0);
    $('up-text').textContent =
      `${fmtBytes(sent)} of ${fmtBytes(total)}` + (speed > 0 ? ` · ${fmtBytes(speed)}/s · ${fmtTime((total - sent) / speed, 0)} left` : '');
  });
  uppy.on('upload-success', (file, response) => {
    const record = { uploadId: uploadIdOf(response.uploadURL), name: file.name, size: file.size, purpose: file.meta.purpose };
    // Until its job exists: a reload in between still makes the job (see restore).
    if (!following) save(record);
    jobQueue.push(record);
    void followQueue();
  });
  // Uploaded files leave the dashboard (their jobs show below), so it is ready for the next ones.
  uppy.on('complete', (result) => {
    for (const f of result.successful ?? []) uppy.removeFile(f.id);
  });
  uppy.on('upload-error', async (file, err) => {
    const e = tusError(err);
    if (e.status === 401 && (await askForKey(e.message))) {
      uppy.retryUpload(file.id);
      return;
    }
    failProgress();
    showError(`${file.name}: ${e.message}`, e.code, e.status);
  });
}

/** Turn finished uploads into jobs (one after another) and follow each on the page. */
async function followQueue() {
  if (following) return;
  following = true;
  setBusy(true);
  try {
    while (jobQueue.length) {
      const up = jobQueue.shift();
      clearResults();
      showProgress(up.name, up.size, up.purpose);
      setBar('up-bar', 1);
      $('up-text').textContent = 'Checking the file…';
      try {
        const done = await api(`api/uploads/${encodeURIComponent(up.uploadId)}/complete`, { method: 'POST', body: {} });
        const record = { ...up, jobId: done.job.id };
        save(record);
        await followJob(done.job.id, record);
      } catch (err) {
        failProgress();
        showError(`${up.name}: ${err.message}`, err.code, err.status);
      }
    }
  } finally {
    following = false;
    setBusy(false);
  }
}

function failProgress() {
  $('cancel').hidden = true;
  // Mark the step that stopped and say so, instead of leaving its last status ("Checking the file…") up.
  if ($('step-job').classList.contains('pending')) {
    $('step-upload').classList.add('failed');
    $('up-text').textContent = 'Stopped';
  } else {
    $('step-job').classList.add('failed');
    if (!/^Failed/.test($('job-text').textContent)) $('job-text').textContent = 'Failed';
  }
}

/** Cancel: stop the uploads still going (tus termination) and the job being followed. */
async function cancelWork() {
  state.cancelled = true;
  jobQueue.length = 0;
  uppy?.cancelAll();
  const saved = loadSaved();
  if (state.events) {
    state.events.close();
    state.events = null;
  }
  try {
    if (saved?.jobId) await api(`api/jobs/${saved.jobId}`, { method: 'DELETE' });
  } catch {
    /* already gone */
  }
  clearSaved();
  $('progress').hidden = true;
  setBusy(false);
  announce('Cancelled');
  state.resolveJob?.();
}

// ---------- job progress (Server-Sent Events)

function followJob(jobId, record) {
  state.jobId = jobId;
  $('progress').hidden = false;
  $('step-job').classList.remove('failed');
  if (record) {
    $('progress-name').textContent = record.name;
    $('progress-meta').textContent = `${fmtBytes(record.size)} · ${record.purpose === 'index' ? 'adding to library' : 'searching'}`;
  }
  setBar('up-bar', 1);
  $('up-text').textContent = 'Uploaded';
  $('step-job').classList.remove('pending');
  $('job-text').textContent = 'Waiting for the server…';
  announce('Upload complete, processing');
  return new Promise((resolve) => {
    let finished = false;
    const finish = async () => {
      if (finished) return;
      finished = true;
      if (state.events) {
        state.events.close();
        state.events = null;
      }
      await showJobResult(jobId);
      resolve();
    };
    state.resolveJob = () => {
      finished = true;
      resolve();
    };
    // EventSource cannot send the key: with one, poll the job instead.
    const poll = async () => {
      while (!finished) {
        try {
          const job = await api(`api/jobs/${encodeURIComponent(jobId)}`);
          if (finished) return;
          renderJobProgress(job);
          if (job.stage === 'done' || job.stage === 'failed') return void finish();
        } catch (err) {
          if (err.status === 404 || err.status === 401) {
            finished = true;
            clearSaved();
            failProgress();
            showError(err.status === 404 ? 'This job no longer exists on the server.' : err.message, err.code);
            return resolve();
          }
        }
        await sleep(1000);
      }
    };
    if (apiKey()) {
      void poll();
      return;
    }
    const es = new EventSource(`api/jobs/${encodeURIComponent(jobId)}/events`);
    state.events = es;
    es.addEventListener('job', (ev) => {
      const job = JSON.parse(ev.data);
      renderJobProgress(job);
      if (job.stage === 'done' || job.stage === 'failed') void finish();
    });
    es.onerror = async () => {
      // EventSource reconnects by itself; check the job still exists so we never spin forever.
      try {
        const job = await api(`api/jobs/${encodeURIComponent(jobId)}`);
        if (job.stage === 'done' || job.stage === 'failed') void finish();
        // Refused for good (a 401: the server wants a key, now given): poll from here on.
        else if (es.readyState === EventSource.CLOSED) {
          state.events = null;
          void poll();
        }
      } catch (err) {
        if (err.status === 404) {
          finished = true;
          es.close();
          state.events = null;
          clearSaved();
          failProgress();
          showError('This job no longer exists on the server.', 'NOT_FOUND');
          resolve();
        }
      }
    };
  });
}

async function showJobResult(jobId) {
  let job;
  try {
    job = await api(`api/jobs/${encodeURIComponent(jobId)}`);
  } catch (err) {
    showError(err.message, err.code);
    return;
  }
  clearSaved();
  $('cancel').hidden = true;
  if (job.stage === 'failed') {
    failProgress();
    renderJobProgress(job);
    showError(job.error?.message ?? 'The job failed', job.error?.code);
    return;
  }
  renderJobProgress(job);
  try {
    localStorage.setItem(LAST_JOB_KEY, jobId);
  } catch {
    /* ignore */
  }
  if (job.kind === 'search') await renderSearch(job);
  else renderIndexed(job);
  void refreshLibraryCount();
}

// ---------- results

function clearResults() {
  const r = $('results');
  r.replaceChildren();
  r.hidden = true;
  $('step-upload').classList.remove('failed');
  $('step-job').classList.remove('failed');
}

function renderIndexed(job) {
  const r = job.result;
  const v = r.video;
  const dup = r.status === 'duplicate';
  const results = $('results');
  results.replaceChildren(
    el(
      'div',
      { class: 'panel done-card', id: 'index-result' },
      el('h2', { text: dup ? 'Already in the library' : 'Added to the library' }),
      el(
        'p',
        {},
        el('strong', { text: v.title ?? job.fileName ?? 'Untitled' }),
        ` · ${fmtTime(r.durationSec ?? v.durationSec, 0)} · ${r.frames ?? v.frameCount} frames`,
        dup ? ' · the same file was indexed before' : '',
      ),
      el('p', {}, el('a', { href: '#library', class: 'btn' }, 'Open the library')),
    ),
  );
  results.hidden = false;
  announce(dup ? 'Already in the library' : 'Added to the library');
}

function scoreClass(s) {
  return s >= 0.8 ? 'high' : s >= 0.5 ? 'mid' : 'low';
}

async function renderSearch(job) {
  const r = job.result;
  const results = $('results');
  results.replaceChildren();
  const q = r.query;
  const what = q.kind === 'image' ? 'picture' : 'clip';
  const qInfo = q.kind === 'image' ? 'picture' : `${fmtTime(q.durationSec)} clip, ${q.frames} frames sampled`;
  const queryLine = `${job.fileName ?? q.path} · ${qInfo} · searched in ${(r.timingsMs.total / 1000).toFixed(2)} s`;

  if (r.matches.length === 0) {
    let total = null;
    try {
      total = (await api('api/videos?limit=1', { optional: true })).total;
    } catch {
      /* ignore */
    }
    results.append(
      el(
        'div',
        { class: 'empty no-match', id: 'no-match' },
        el('h2', { class: 'big', text: 'No copy found' }),
        el('p', {
          text:
            total === null
              ? `No indexed video contains this ${what}.`
              : `None of the ${total} video${total === 1 ? '' : 's'} in the library contains this ${what}.`,
        }),
        el('p', { class: 'muted query-line', text: queryLine }),
        el('p', { class: 'muted', text: 'Very short or mostly black clips may be too plain to match; a longer excerpt helps.' }),
      ),
    );
    results.hidden = false;
    announce('No copy found');
    results.scrollIntoView({ behavior: 'smooth', block: 'nearest' });
    return;
  }
  results.append(
    el(
      'div',
      { class: 'result-head' },
      el('h2', { text: `Found in ${r.matches.length} video${r.matches.length === 1 ? '' : 's'}` }),
      el('p', { class: 'muted', text: queryLine }),
    ),
  );

  const videos = await Promise.all(r.matches.map((m) => api(`api/videos/${m.videoId}`, { optional: true }).catch(() => null)));
  const player = el('video', { id: 'player', controls: true, preload: 'metadata', playsinline: true });
  const playerCaption = el('figcaption', { class: 'muted' });
  const playerBox = el('figure', { class: 'player' }, player, playerCaption);

  // One player, shown inside the card of the match being played.
  const play = (m, seg, autoplay) => {
    const card = results.querySelector(`.match[data-video-id="${m.videoId}"]`);
    const slot = card?.querySelector('.player-slot');
    if (slot && playerBox.parentElement !== slot) slot.append(playerBox);
    const src = `api/videos/${m.videoId}/stream`;
    const start = seg.refStart;
    playerCaption.textContent = `${m.title ?? 'Untitled'} · from ${fmtTime(start)} (matched ${fmtTime(seg.refStart)}–${fmtTime(seg.refEnd)})`;
    const seek = () => {
      player.currentTime = start;
      if (autoplay) void player.play().catch(() => {});
    };
    player.dataset.videoId = m.videoId;
    player.dataset.start = String(start);
    if (player.dataset.src !== src) {
      player.dataset.src = src;
      player.addEventListener('loadedmetadata', seek, { once: true });
      void setAuthedSrc(player, src);
    } else seek();
    if (autoplay) playerBox.scrollIntoView({ behavior: 'smooth', block: 'nearest' });
  };

  const list = el('div', { class: 'matches' });
  r.matches.forEach((m, i) => list.append(renderMatch(m, i, videos[i], job, play)));
  results.append(list);
  results.hidden = false;
  play(r.matches[0], r.matches[0].segments[0], false);
  announce(`Found in ${r.matches.length} videos`);
  results.scrollIntoView({ behavior: 'smooth', block: 'start' });
}

function renderMatch(m, index, video, job, play) {
  const node = $('tpl-match').content.firstElementChild.cloneNode(true);
  node.dataset.videoId = m.videoId;
  const title = m.title ?? video?.title ?? m.path.split('/').pop();
  node.querySelector('.match-title').textContent = `${index + 1}. ${title}`;
  const score = node.querySelector('.score');
  score.textContent = pct(m.score);
  score.classList.add(scoreClass(m.score));
  score.title = 'Confidence that this is a copy';
  const frames = m.segments.reduce((n, s) => n + s.frames.length, 0);
  const duration = video?.durationSec > 0 ? video.durationSec : Math.max(...m.segments.map((s) => s.refEnd)) * 1.05;
  node.querySelector('.match-sub').textContent =
    `${plural(m.segments.length, 'matched segment')} · ${plural(frames, 'matched frame')} · video length ${fmtTime(duration, 0)}`;

  // Timeline of the reference video: segments as bands, a marker per matched frame.
  const timeline = node.querySelector('.timeline');
  timeline.setAttribute('aria-label', `Timeline of ${title}: ${m.segments.map((s) => `${fmtTime(s.refStart)} to ${fmtTime(s.refEnd)}`).join(', ')}`);
  timeline.dataset.duration = String(duration);
  const track = node.querySelector('.track');
  const at = (t) => `${Math.max(0, Math.min(100, (t / duration) * 100)).toFixed(3)}%`;
  for (const s of m.segments) {
    const width = Math.max(((s.refEnd - s.refStart) / duration) * 100, 0.8);
    track.append(
      el('button', {
        type: 'button',
        class: `seg ${scoreClass(s.score)}`,
        style: { left: at(s.refStart), width: `${width.toFixed(3)}%` },
        title: `Play from ${fmtTime(s.refStart)}`,
        'aria-label': `Play matched segment ${fmtTime(s.refStart)} to ${fmtTime(s.refEnd)}`,
        dataset: { start: String(s.refStart), end: String(s.refEnd) },
        onclick: () => play(m, s, true),
      }),
    );
  }
  for (const s of m.segments) {
    for (const f of s.frames) {
      track.append(
        el('span', {
          class: 'marker',
          style: { left: at(f.refTime) },
          dataset: { time: String(f.refTime), queryTime: String(f.queryTime) },
          title: `Your ${fmtTime(f.queryTime)} ↔ reference ${fmtTime(f.refTime)} (similarity ${f.similarity.toFixed(2)})`,
        }),
      );
    }
  }
  node.querySelector('.axis-end').textContent = fmtTime(duration, 0);

  const ul = node.querySelector('.segments');
  for (const s of m.segments) {
    ul.append(
      el(
        'li',
        {},
        el(
          'button',
          { type: 'button', class: 'btn small', onclick: () => play(m, s, true), 'aria-label': `Play ${title} from ${fmtTime(s.refStart)}` },
          `▶ ${fmtTime(s.refStart)}`,
        ),
        el(
          'span',
          {},
          el('span', { class: 'seg-range', text: s.refEnd - s.refStart < 0.05 ? `at ${fmtTime(s.refStart)}` : `${fmtTime(s.refStart)}–${fmtTime(s.refEnd)}` }),
          el('span', { class: 'muted', text: job.result.query.kind === 'image' ? ' in the video' : ` ↔ your ${fmtTime(s.queryStart)}–${fmtTime(s.queryEnd)}` }),
          el('span', { class: 'muted', text: ` · ${plural(s.matchedFrames, 'frame')} · ${pct(s.score)}` }),
          el('span', {
            class: s.verified ? 'verified' : 'muted',
            text:
              s.verified && s.transform
                ? ` · verified: ${s.transform.summary}`
                : s.verification?.status === 'unconfirmed'
                  ? ` · unconfirmed (${s.verification.reason})`
                  : ' · not verified',
          }),
        ),
      ),
    );
  }

  // Query and reference frames side by side, for the best matches.
  if (index < 3) {
    const seg = m.segments[0];
    const best = seg.frames.reduce((a, b) => (b.similarity > a.similarity ? b : a), seg.frames[0]);
    if (best) {
      const pair = node.querySelector('.pair');
      pair.hidden = false;
      node.querySelector('.pair-title').hidden = false;
      const qImg = pair.querySelector('.frame-q img');
      const rImg = pair.querySelector('.frame-r img');
      qImg.alt = `Your ${job.result.query.kind === 'image' ? 'picture' : `clip at ${fmtTime(best.queryTime)}`}`;
      rImg.alt = `${title} at ${fmtTime(best.refTime)}`;
      pair.querySelector('.frame-q figcaption').textContent = job.result.query.kind === 'image' ? 'Your picture' : `Your clip · ${fmtTime(best.queryTime)}`;
      pair.querySelector('.frame-r figcaption').textContent = `Reference · ${fmtTime(best.refTime)} · similarity ${best.similarity.toFixed(2)}`;
      qImg.addEventListener(
        'error',
        () => {
          qImg.replaceWith(el('div', { class: 'thumb-missing', text: 'Query frame no longer available' }));
        },
        { once: true },
      );
      rImg.addEventListener(
        'error',
        () => {
          rImg.replaceWith(el('div', { class: 'thumb-missing', text: 'Reference frame unavailable' }));
        },
        { once: true },
      );
      void showQueryFrame(qImg, job, best.queryTime);
      void setAuthedSrc(rImg, `api/videos/${m.videoId}/thumbnail?t=${best.refTime}&w=320`);
      // The part of the reference the copy shows, drawn over the reference frame.
      const r = seg.transform?.refRect;
      if (r && r.width * r.height < 0.98) {
        const wrap = el('div', { class: 'rect-wrap' });
        rImg.replaceWith(wrap);
        wrap.append(
          rImg,
          el('div', {
            class: 'copy-rect',
            title: seg.transform.summary,
            style: { left: `${r.x * 100}%`, top: `${r.y * 100}%`, width: `${r.width * 100}%`, height: `${r.height * 100}%` },
          }),
        );
      }
    }
  }
  return node;
}

// ---------- library

async function refreshLibraryCount() {
  try {
    const { total } = await api('api/videos?limit=1', { optional: true });
    $('library-count').textContent = String(total);
  } catch {
    /* ignore */
  }
}

async function loadLibrary() {
  let data;
  try {
    data = await api(`api/videos?limit=${LIB_PAGE}&offset=${state.libOffset}`);
  } catch (err) {
    $('library-summary').textContent = `Could not load the library: ${err.message}`;
    return;
  }
  if (data.items.length === 0 && state.libOffset > 0) {
    state.libOffset = Math.max(0, state.libOffset - LIB_PAGE);
    return loadLibrary();
  }
  $('library-count').textContent = String(data.total);
  const total = data.items.reduce((n, v) => n + (v.durationSec || 0), 0);
  $('library-summary').textContent = data.total
    ? `${data.total} video${data.total === 1 ? '' : 's'}${data.total <= LIB_PAGE ? ` · ${fmtTime(total, 0)} in total` : ''}`
    : '';
  $('library-empty').hidden = data.total > 0;
  $('library-table').hidden = data.total === 0;
  const rows = data.items.map((v) => {
    const name = v.title ?? v.metadata?.originalName ?? v.path.split('/').pop();
    const thumbT = Math.min(1, (v.durationSec || 0) / 2);
    const status = el('span', { class: `badge ${v.status}`, text: v.status, title: v.error ? `${v.error.code}: ${v.error.message}` : null });
    return el(
      'tr',
      { dataset: { videoId: v.id } },
      el(
        'td',
        { class: 'thumb-cell' },
        v.status === 'ready'
          ? el(
              'a',
              { href: `api/videos/${v.id}/stream`, target: '_blank', rel: 'noopener', 'aria-label': `Play ${name}`, onclick: (e) => openStream(e, v.id) },
              authedImg(`api/videos/${v.id}/thumbnail?t=${thumbT}&w=160`, { alt: '', loading: 'lazy', width: 96, height: 54 }),
            )
          : null,
      ),
      el(
        'td',
        { class: 'title-cell' },
        el('span', { class: 'v-title', text: name }),
        v.metadata?.originalName && v.metadata.originalName !== name ? el('small', { class: 'muted', text: v.metadata.originalName }) : null,
      ),
      el('td', { class: 'num', 'data-label': 'Duration', text: fmtTime(v.durationSec, 0) }),
      el('td', { class: 'num', 'data-label': 'Frames', text: String(v.frameCount) }),
      el('td', { 'data-label': 'Status' }, status),
      el('td', { 'data-label': 'Added', text: new Date(v.createdAt).toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' }) }),
      el(
        'td',
        { class: 'actions-cell' },
        el('button', { type: 'button', class: 'btn danger small', 'aria-label': `Delete ${name}`, onclick: () => deleteVideo(v, name) }, 'Delete'),
      ),
    );
  });
  $('library-rows').replaceChildren(...rows);
  const pages = Math.ceil(data.total / LIB_PAGE);
  $('library-pager').hidden = pages <= 1;
  $('page-info').textContent = `Page ${Math.floor(state.libOffset / LIB_PAGE) + 1} of ${pages}`;
  $('page-prev').disabled = state.libOffset === 0;
  $('page-next').disabled = state.libOffset + LIB_PAGE >= data.total;
}

function authedImg(url, attrs) {
  const img = el('img', attrs);
  void setAuthedSrc(img, url);
  return img;
}

/** A new tab cannot send the key: with one, open the video from a blob: URL instead. */
async function openStream(e, id) {
  if (!apiKey()) return;
  e.preventDefault();
  const tab = window.open('', '_blank');
  try {
    const res = await fetch(`api/videos/${id}/stream`, { headers: authHeaders() });
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
    const url = URL.createObjectURL(await res.blob());
    if (tab) tab.location.href = url;
    else location.href = url;
  } catch (err) {
    tab?.close();
    alert(`Could not open the video: ${err.message}`);
  }
}

async function deleteVideo(v, name) {
  if (!confirm(`Delete “${name}” from the library? Searches will no longer find it.`)) return;
  try {
    await api(`api/videos/${v.id}`, { method: 'DELETE' });
    announce(`Deleted ${name}`);
  } catch (err) {
    alert(`Could not delete: ${err.message}`);
  }
  await loadLibrary();
}

// ---------- wiring

function pickFile() {
  $('file').click();
}

function handleFiles(files) {
  if (!files?.length) return;
  if (location.hash === '#library') location.hash = '#search';
  for (const file of files) {
    try {
      uppy.addFile({ name: file.name, type: file.type, data: file, source: 'Local' });
    } catch (err) {
      // Uppy refused it (say not a video or image): it says why in the dashboard too.
      showError(err.message, 'UNSUPPORTED_MEDIA', 415);
    }
  }
}

function init() {
  $('forget-key').hidden = !apiKey();
  $('forget-key').addEventListener('click', forgetKey);
  $('file').addEventListener('change', (e) => {
    handleFiles(e.target.files);
    e.target.value = '';
  });
  for (const r of document.querySelectorAll('input[name="mode"]')) {
    r.addEventListener('change', () => {
      $('title-field').hidden = currentMode() !== 'index';
    });
  }
  $('title-field').hidden = currentMode() !== 'index';

  // Files dropped anywhere on the page (the dashboard takes its own drops).
  window.addEventListener('dragover', (e) => e.preventDefault());
  window.addEventListener('drop', (e) => {
    e.preventDefault();
    if (!e.target.closest?.('#uppy')) handleFiles(e.dataTransfer?.files);
  });

  $('cancel').addEventListener('click', () => void cancelWork());
  $('resume-pick').addEventListener('click', pickFile);
  $('resume-discard').addEventListener('click', async () => {
    // tus termination: the server deletes what it holds of them.
    for (const u of unfinishedUploads()) {
      await fetch(u.uploadUrl, { method: 'DELETE', headers: { 'Tus-Resumable': '1.0.0', ...authHeaders() } }).catch(() => {});
      forgetUnfinished(u.key);
    }
    $('resume').hidden = true;
  });
  $('page-prev').addEventListener('click', () => {
    state.libOffset = Math.max(0, state.libOffset - LIB_PAGE);
    void loadLibrary();
  });
  $('page-next').addEventListener('click', () => {
    state.libOffset += LIB_PAGE;
    void loadLibrary();
  });
  $('dup-run').addEventListener('click', () => void loadDuplicates(true));
  window.addEventListener('hashchange', () => {
    showView();
    const heading = location.hash === '#library' ? $('library-heading') : location.hash === '#duplicates' ? $('duplicates-heading') : $('search-heading');
    heading.setAttribute('tabindex', '-1');
    heading.focus({ preventScroll: true });
  });
  showView();
  void refreshLibraryCount();
  void (async () => {
    const health = await fetch('api/health')
      .then((r) => r.json())
      .catch(() => null);
    setupUppy(health?.uploads?.chunkBytes ?? 8 * 1024 * 1024);
    await restore();
  })();
}

/** After a reload: pick up an unfinished upload or a running job, or show the last result. */
async function restore() {
  const saved = loadSaved();
  if (saved?.jobId) {
    setBusy(true);
    try {
      await followJob(saved.jobId, saved);
    } finally {
      setBusy(false);
    }
    return;
  }
  if (saved?.uploadId) {
    // Uploaded, but the page went away before the job was made: make it now.
    clearSaved();
    const up = await api(`api/uploads/${encodeURIComponent(saved.uploadId)}`).catch(() => null);
    if (up?.jobId) {
      save({ ...saved, jobId: up.jobId });
      return restore();
    }
    if (up && up.receivedBytes === up.size) {
      jobQueue.push(saved);
      return followQueue();
    }
  }
  // Uploads cut short (a reload, a closed tab): Uppy resumes one from the server's offset when the
  // same file is added again, found by its tus fingerprint.
  const unfinished = [];
  for (const u of unfinishedUploads()) {
    const up = await api(`api/uploads/${encodeURIComponent(uploadIdOf(u.uploadUrl))}`, { optional: true }).catch(() => null);
    if (up && up.status === 'receiving') unfinished.push({ ...u, up });
    else forgetUnfinished(u.key);
  }
  if (unfinished.length) {
    const { up } = unfinished[0];
    const radio = document.querySelector(`input[name="mode"][value="${up.purpose}"]`);
    if (radio) {
      radio.checked = true;
      $('title-field').hidden = up.purpose !== 'index';
    }
    $('resume-text').textContent =
      unfinished.length === 1
        ? `The upload of “${up.fileName}” (${fmtBytes(up.size)}) stopped at ${pct(up.receivedBytes / up.size)}. Choose the same file again to send the rest.`
        : `${unfinished.length} uploads stopped before the end (${unfinished.map((u) => `“${u.up.fileName}” at ${pct(u.up.receivedBytes / u.up.size)}`).join(', ')}). Choose the same files again to send the rest.`;
    $('resume').hidden = false;
    return;
  }
  let last = null;
  try {
    last = localStorage.getItem(LAST_JOB_KEY);
  } catch {
    /* ignore */
  }
  if (last) {
    try {
      const job = await api(`api/jobs/${encodeURIComponent(last)}`);
      if (job.stage === 'done') {
        if (job.kind === 'search') await renderSearch(job);
        else renderIndexed(job);
      }
    } catch {
      try {
        localStorage.removeItem(LAST_JOB_KEY);
      } catch {
        /* ignore */
      }
    }
  }
}

init();
