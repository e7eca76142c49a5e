// vigil's recent object events on the page, in headless Chromium, on the real binary: CenterNet tracks the people
// walking in vtest.avi, the "Recent events" panel lists them with their cropped snapshots and keeps itself current
// from the /events stream, and a click on an ended event plays its clip in a dialog (or, in a Chromium without
// H.264, shows its snapshot and a download link). Keeps a screenshot in artifacts/events.png.
// Ends with the line "N passed, N failed[, N skipped]"; exits 1 on failure.
//
// Run: node tests/e2e/events.test.mjs   (after `npm ci` in tests/e2e)
// Environment: VIGIL_BIN (default <repo>/build/vigil), CHROMIUM (default /usr/bin/chromium),
// VIGIL_CACHE (default $XDG_CACHE_HOME/vigil or ~/.cache/vigil: the demo model, from scripts/fetch-demo-assets).

import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { artifacts, assert, chromiumBin, counts, freePort, skip, sleep, summary, test, vigilBin, waitFor, watchdog, launchBrowser } from './harness.mjs';

const CACHE = process.env.VIGIL_CACHE || join(process.env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'vigil');
const CENTERNET = join(CACHE, 'human-models-3.0.4', 'models', 'centernet.json');
const VTEST = '/usr/share/doc/opencv-doc/examples/data/vtest.avi';
const NAME = 'recent events: snapshots listed, a clip plays';

let vigil = null;
let vigilExit = null;
let context = null;
let userDataDir = null;
let dataDir = null;

async function fetchJson(url, timeoutMs = 3000) {
  const r = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
  const text = await r.text();
  return { status: r.status, json: r.ok ? JSON.parse(text) : null, text };
}

async function cleanup() {
  if (context) {
    await Promise.race([context.close().catch(() => {}), sleep(5000)]);
    context = null;
  }
  if (vigil && vigilExit === null) vigil.kill('SIGKILL');
  if (userDataDir) rmSync(userDataDir, { recursive: true, force: true });
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
}

// Never hang: the whole run has a minute and a half.
const timer = watchdog(90000, cleanup);

async function main() {
  mkdirSync(artifacts, { recursive: true });
  if (!existsSync(CENTERNET) || !existsSync(VTEST)) {
    skip(NAME, `needs the demo model ${CENTERNET} (scripts/fetch-demo-assets) and ${VTEST} (Debian opencv-doc)`);
    return;
  }
  let chromium;
  await test('prerequisites: vigil binary, Chromium, playwright-core', async () => {
    assert(existsSync(vigilBin), `vigil binary not found at ${vigilBin} (set VIGIL_BIN)`);
    assert(existsSync(chromiumBin), `Chromium not found at ${chromiumBin} (apt-get install chromium)`);
    ({ chromium } = await import('playwright-core'));
  });
  if (counts.failed) return;

  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  dataDir = mkdtempSync(join(tmpdir(), 'vigil-e2e-events-'));
  let stderr = '';
  vigil = spawn(vigilBin, ['serve', '--source', VTEST, '--loop', '--model', CENTERNET, '--listen', `127.0.0.1:${port}`,
    '--data', join(dataDir, 'data'), '--clips', join(dataDir, 'clips'), '--pre-capture', '1', '--post-capture', '1'],
  { stdio: ['ignore', 'ignore', 'pipe'] });
  vigil.stderr.on('data', (d) => { stderr += d; });
  vigil.on('exit', (code, sig) => { vigilExit = { code, sig, at: Date.now() }; });

  await test('vigil starts with CenterNet on vtest.avi and /healthz answers 200', async () => {
    await waitFor(async () => {
      if (vigilExit) throw new Error(`vigil exited ${vigilExit.code}: ${stderr}`);
      const r = await fetch(`${base}/healthz`, { signal: AbortSignal.timeout(1000) });
      await r.arrayBuffer();
      return r.status === 200;
    }, 20000, 'vigil not healthy');
  });
  if (counts.failed) return;

  userDataDir = mkdtempSync(join(tmpdir(), 'vigil-e2e-profile-'));
  let page;
  ({ context, page } = await launchBrowser(chromium, userDataDir));
  const pageErrors = [];
  const listReads = [];
  page.on('request', (r) => {
    const u = new URL(r.url());
    if (u.pathname === '/api/events') listReads.push(u.search);
  });
  page.on('pageerror', (e) => pageErrors.push(`pageerror: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error' && !/favicon/.test(m.text() + (m.location().url || ''))) {
      pageErrors.push(`console.error: ${m.text()} (${m.location().url || ''})`);
    }
  });
  page.setDefaultTimeout(10000);

  await test('the page loads', async () => {
    const resp = await page.goto(`${base}/`, { waitUntil: 'domcontentloaded', timeout: 15000 });
    assert(resp && resp.status() === 200, `GET / answered ${resp && resp.status()}`);
  });

  const listed = () => page.evaluate(() => Object.fromEntries([...document.querySelectorAll('#recent-events .event-entry')]
    .map((b) => [b.dataset.id, b.dataset.live === 'true'])));
  let first = {};
  await test('the events panel lists an event whose thumbnail loaded', async () => {
    await page.waitForFunction(() => !document.getElementById('recent').hidden, null, { timeout: 20000 });
    first = await listed();
    await page.locator('#recent').scrollIntoViewIfNeeded();
    const shown = await page.waitForFunction(() => {
      const img = [...document.querySelectorAll('#recent-events .event-entry img.event-thumb')]
        .find((i) => i.complete && i.naturalWidth > 0);
      if (!img) return null;
      const b = img.closest('.event-entry');
      return { id: b.dataset.id, src: img.getAttribute('src'), size: [img.naturalWidth, img.naturalHeight],
        text: b.innerText.replace(/\s+/g, ' ').trim() };
    }, null, { timeout: 25000, polling: 200 }).then((h) => h.jsonValue());
    assert(/\/snapshot\.jpg\?crop=1&t=[\d.]+$/.test(shown.src), `thumbnail src ${shown.src}`);
    // CenterNet finds vtest's parked van too ("truck"): any label, with its id and score.
    assert(/[a-z][a-z ]* #\d+ \d+%/.test(shown.text) && /\d\d:\d\d:\d\d · (live|\d+ s|\d+ min)/.test(shown.text),
      `entry reads '${shown.text}'`);
    console.log(`    first entry with a thumbnail (${shown.size.join('x')}): ${shown.text}`);
  });

  let chosen = null;
  await test('an event ends with a clip, and the panel learns it from the event stream', async () => {
    // vtest's walkers leave the picture: their events end, and their clips close post_capture (1 s) later.
    chosen = await page.waitForFunction(() => {
      const b = document.querySelector('#recent-events .event-entry[data-live="false"][data-has-clip="true"]');
      return b ? { id: b.dataset.id, text: b.innerText.replace(/\s+/g, ' ').trim() } : null;
    }, null, { timeout: 40000, polling: 250 }).then((h) => h.jsonValue());
    const { json } = await fetchJson(`${base}/api/events/${encodeURIComponent(chosen.id)}`);
    assert(json && typeof json.end_time === 'number' && json.has_clip, `the API says ${JSON.stringify(json)}`);
    // The list is read once (no polling): everything after came as "object" messages on /events.
    assert(listReads.length === 1 && listReads[0] === '?limit=20', `the page read /api/events ${JSON.stringify(listReads)}`);
    const entries = await page.locator('#recent-events .event-entry').count();
    assert(entries >= 1 && entries <= 20, `${entries} entries`);
    // What changed since the list was read came from the stream: an event that was not listed, or one that ended.
    const now = await listed();
    const added = Object.keys(now).filter((id) => !(id in first)).length;
    const ended = Object.keys(now).filter((id) => first[id] === true && now[id] === false).length;
    assert(added + ended > 0, `nothing changed in the list since it was read: ${JSON.stringify(now)}`);
    console.log(`    since the list was read: ${added} events added, ${ended} ended (from the /events stream)`);
    await page.locator('#recent').screenshot({ path: join(artifacts, 'events-panel.png') });
    console.log(`    ended event ${chosen.id}: ${chosen.text} (${entries} entries listed)`);
  });
  if (!chosen) return;
  await sleep(2000); // The clip closes post_capture after the event's end.

  const h264 = await page.evaluate(() => document.createElement('video').canPlayType('video/mp4; codecs="avc1.64001f"'));
  await test(h264 ? `a click plays the clip in a dialog (canPlayType: ${h264})`
    : 'a click shows the snapshot and a download link (this Chromium cannot play H.264)', async () => {
    const entry = page.locator(`#recent-events .event-entry[data-id="${chosen.id}"]`);
    await entry.scrollIntoViewIfNeeded();
    await entry.click();
    await page.waitForFunction(() => document.getElementById('event-dialog').open, null, { timeout: 3000 });
    const href = await page.getAttribute('#event-clip-link', 'href');
    assert(href === `/api/events/${encodeURIComponent(chosen.id)}/clip.mp4`, `clip link ${href}`);
    if (h264) {
      const v = await page.waitForFunction(() => {
        const video = document.querySelector('#event-media video');
        if (!video) return null;
        return video.readyState >= 2 && video.duration > 1
          ? { readyState: video.readyState, duration: video.duration, src: video.getAttribute('src'),
            controls: video.controls, muted: video.muted, autoplay: video.autoplay, width: video.videoWidth }
          : null;
      }, null, { timeout: 10000, polling: 100 }).then((h) => h.jsonValue());
      assert(v.src === href, `video src ${v.src}`);
      assert(v.controls && v.muted && v.autoplay, `video attributes ${JSON.stringify(v)}`);
      console.log(`    the clip plays: readyState ${v.readyState}, duration ${v.duration.toFixed(2)} s, ${v.width} px wide`);
    } else {
      console.log('    this Chromium cannot play H.264 in MP4: checking the fallback (the full snapshot and a download link)');
      const mode = await page.getAttribute('#event-dialog', 'data-mode');
      assert(mode === 'snapshot', `dialog mode ${mode}`);
      await page.waitForFunction(() => {
        const img = document.querySelector('#event-media img');
        return img && img.complete && img.naturalWidth > 0;
      }, null, { timeout: 5000 });
      assert(await page.isVisible('#event-clip-link'), 'no download link');
    }
  });

  await test('a screenshot is kept in artifacts/events.png', async () => {
    await sleep(300);
    const png = await page.screenshot({ path: join(artifacts, 'events.png') });
    assert(png.length > 10000, `screenshot is ${png.length} bytes`);
  });

  await test('Escape closes the dialog and the focus returns to the entry; Enter opens it again', async () => {
    await page.keyboard.press('Escape');
    await page.waitForFunction(() => !document.getElementById('event-dialog').open, null, { timeout: 3000 });
    // The dialog's "close" event, which empties it and gives the focus back, comes a task after it closed.
    await page.waitForFunction(() => document.querySelectorAll('#event-media > *').length === 0, null,
      { timeout: 3000 }).catch(() => {});
    const state = await page.evaluate(() => ({
      focused: document.activeElement && document.activeElement.dataset ? document.activeElement.dataset.id : null,
      media: document.querySelectorAll('#event-media > *').length,
    }));
    assert(state.focused === chosen.id, `focus is on ${state.focused}`);
    assert(state.media === 0, 'the video is still in the closed dialog');
    await page.keyboard.press('Enter');
    await page.waitForFunction(() => document.getElementById('event-dialog').open, null, { timeout: 3000 });
    await page.click('#event-dialog-close');
    await page.waitForFunction(() => !document.getElementById('event-dialog').open, null, { timeout: 3000 });
  });

  await test('without H.264 in the browser, the dialog shows the whole snapshot and a link to the clip', async () => {
    // Whatever this Chromium can play: the page asks canPlayType, so a browser without H.264 is one override away.
    await page.evaluate(() => { HTMLMediaElement.prototype.canPlayType = () => ''; });
    await page.locator(`#recent-events .event-entry[data-id="${chosen.id}"]`).click();
    await page.waitForFunction(() => document.getElementById('event-dialog').open, null, { timeout: 3000 });
    const mode = await page.getAttribute('#event-dialog', 'data-mode');
    assert(mode === 'snapshot', `dialog mode ${mode}`);
    const img = await page.waitForFunction(() => {
      const i = document.querySelector('#event-media img');
      return i && i.complete && i.naturalWidth > 0 ? [i.naturalWidth, i.naturalHeight, i.getAttribute('src')] : null;
    }, null, { timeout: 5000 }).then((h) => h.jsonValue());
    assert(img[0] === 768 && img[1] === 576, `the snapshot is ${img[0]}x${img[1]}`);
    assert(await page.isVisible('#event-clip-link') && await page.isVisible('#event-note'), 'no link to the clip, or no note');
    assert(await page.locator('#event-media video').count() === 0, 'a <video> all the same');
    await page.keyboard.press('Escape');
    await page.waitForFunction(() => !document.getElementById('event-dialog').open, null, { timeout: 3000 });
  });

  await test('no errors in the page console', async () => {
    assert(pageErrors.length === 0, pageErrors.slice(0, 5).join('; '));
  });

  await context.close();
  context = null;

  await test('vigil exits 0 after SIGTERM', async () => {
    vigil.kill('SIGTERM');
    await waitFor(() => vigilExit, 5000, 'vigil did not exit');
    assert(vigilExit.code === 0, `exit ${vigilExit.code} ${vigilExit.sig}: ${stderr.slice(-500)}`);
  });
  writeFileSync(join(artifacts, 'vigil-events-stderr.txt'), stderr);
}

const t0 = Date.now();
try {
  await main();
} catch (e) {
  counts.failed++;
  console.log(`not ok - unexpected error: ${e && e.stack ? e.stack : e}`);
} finally {
  await cleanup();
  clearTimeout(timer);
}
console.log(`    (${((Date.now() - t0) / 1000).toFixed(1)} s in all)`);
console.log(summary());
process.exit(counts.failed ? 1 : 0);
