// vigil's web page in headless Chromium: the page loads, the MJPEG image shows
// frames and keeps changing, the stats fill in. Keeps a screenshot in
// artifacts/page.png. Ends with the line "N passed, N failed"; exits 1 on failure.
//
// Run: node tests/e2e/page.test.mjs   (after `npm ci` in tests/e2e)
// Environment: VIGIL_BIN (default <repo>/build/vigil), CHROMIUM (default /usr/bin/chromium).

import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { artifacts, assert, chromiumBin, counts, freePort, repo, sleep, summary, test, vigilBin, waitFor, watchdog, launchBrowser } from './harness.mjs';

const SOURCE = 'lavfi:testsrc=size=640x480:rate=25';

let vigil = null;
let vigilExit = null;
let context = null;
let userDataDir = null;

async function fetchText(url, timeoutMs = 3000) {
  const r = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
  return { status: r.status, text: await r.text() };
}

async function cleanup() {
  if (context) {
    await Promise.race([context.close().catch(() => {}), sleep(5000)]);
    context = null;
  }
  if (vigil && vigilExit === null) vigil.kill('SIGKILL');
  if (userDataDir) rmSync(userDataDir, { recursive: true, force: true });
}

// Never hang: the whole run has two minutes.
const timer = watchdog(120000, cleanup);

async function main() {
  mkdirSync(artifacts, { recursive: true });
  let chromium;
  await test('prerequisites: vigil binary, Chromium, playwright-core', async () => {
    assert(existsSync(vigilBin), `vigil binary not found at ${vigilBin} (set VIGIL_BIN)`);
    assert(existsSync(chromiumBin), `Chromium not found at ${chromiumBin} (apt-get install chromium)`);
    ({ chromium } = await import('playwright-core'));
  });
  if (counts.failed) return;

  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  let stderr = '';
  vigil = spawn(vigilBin, ['serve', '--source', SOURCE, '--listen', `127.0.0.1:${port}`],
    { stdio: ['ignore', 'ignore', 'pipe'] });
  vigil.stderr.on('data', (d) => { stderr += d; });
  vigil.on('exit', (code, sig) => { vigilExit = { code, sig, at: Date.now() }; });

  await test('vigil starts and /healthz answers 200', async () => {
    await waitFor(async () => {
      if (vigilExit) throw new Error(`vigil exited ${vigilExit.code}: ${stderr}`);
      return (await fetchText(`${base}/healthz`, 1000)).status === 200;
    }, 15000, 'vigil not healthy');
  });
  if (counts.failed) return;

  userDataDir = mkdtempSync(join(tmpdir(), 'vigil-e2e-profile-'));
  let page;
  ({ context, page } = await launchBrowser(chromium, userDataDir));
  const pageErrors = [];
  const requested = [];
  page.on('request', (r) => requested.push(new URL(r.url()).pathname));
  page.on('pageerror', (e) => pageErrors.push(`pageerror: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error' && !/favicon/.test(m.text() + (m.location().url || ''))) {
      pageErrors.push(`console.error: ${m.text()} (${m.location().url || ''})`);
    }
  });
  page.setDefaultTimeout(10000);

  await test('the page loads with the stream image and the stat fields', async () => {
    // The MJPEG image never finishes loading, so wait for the DOM only.
    const resp = await page.goto(`${base}/`, { waitUntil: 'domcontentloaded', timeout: 15000 });
    assert(resp && resp.status() === 200, `GET / answered ${resp && resp.status()}`);
    for (const id of ['stream', 'fps', 'latency', 'dropped', 'clients', 'source-state', 'detections']) {
      assert(await page.locator(`#${id}`).count() === 1, `#${id} missing`);
    }
    const src = await page.getAttribute('#stream', 'src');
    assert(src && src.includes('/video_feed'), `#stream src is ${src}`);
  });

  await test('a detection\'s attributes (--classify) are listed under it', async () => {
    // The list is rebuilt by every event, so render and read it in one synchronous step.
    const text = await page.evaluate(() => {
      showDetections([{ label: 'face', score: 0.99, box: [0.1, 0.1, 0.3, 0.3],
        attributes: [{ model: 'fer2013_mini_XCEPTION.102-0.66.hdf5', label: 'happy', class_id: 3, score: 0.83 }] }]);
      const a = document.querySelector('#detections li .attribute');
      return a ? a.textContent + '|' + a.title : '';
    });
    assert(text === 'happy 83%|fer2013_mini_XCEPTION.102-0.66.hdf5', `attribute shown as '${text}'`);
  });

  await test('track ids, zone and line counts and zone events are shown', async () => {
    const shown = await page.evaluate(() => {
      showDetections([{ label: 'person', score: 0.9, track_id: 12, box: [0.1, 0.1, 0.3, 0.6] }]);
      const id = document.querySelector('#detections li .track');
      showCounts({ driveway: { objects: { car: 1, person: 0 }, total: 1 } },
        { gate: { arriving: { person: 4 }, leaving: { person: 1 }, hour: {}, previous_hour: {}, today: {} } });
      onZoneEvent({ event: 'crossed', line: 'gate', direction: 'arriving', track_id: 9, label: 'person', time: 1765000002.5 });
      onZoneEvent({ event: 'left', zone: 'driveway', track_id: 7, label: 'car', time: 1765000031.2, dwell_s: 30.8 });
      return {
        id: id ? id.textContent : '',
        hidden: document.getElementById('counts-section').hidden,
        counts: [...document.querySelectorAll('#counts li')].map((li) => li.textContent),
        events: [...document.querySelectorAll('#zone-events li')].map((li) => li.textContent),
      };
    });
    assert(shown.id === '#12', `track id shown as '${shown.id}'`);
    assert(!shown.hidden, 'the zones and lines section stays hidden');
    assert(shown.counts[0] === 'driveway: 1 now (car 1, person 0)', `zone shown as '${shown.counts[0]}'`);
    assert(shown.counts[1] === 'gate: arriving 4, leaving 1', `line shown as '${shown.counts[1]}'`);
    assert(shown.events.length === 2 && /car #7 left driveway after 31 s$/.test(shown.events[0]) &&
      /person #9 crossed gate \(arriving\)$/.test(shown.events[1]), `events shown as ${JSON.stringify(shown.events)}`);
    // Stats without zones or lines hide the section again.
    const hidden = await page.evaluate(() => { showCounts(undefined, undefined); return document.getElementById('counts-section').hidden; });
    assert(hidden, 'the section shows without zones or lines');
  });

  await test('#stream shows a 640x480 frame', async () => {
    await page.waitForFunction(() => {
      const img = document.querySelector('#stream');
      return img && img.naturalWidth > 0;
    }, null, { timeout: 10000 });
    const size = await page.$eval('#stream', (img) => [img.naturalWidth, img.naturalHeight]);
    assert(size[0] === 640 && size[1] === 480, `natural size ${size}`);
  });

  // Draws the image into a canvas and hashes its pixels (same origin, so the canvas is not tainted).
  const pixelHash = () => page.$eval('#stream', (img) => {
    const c = document.createElement('canvas');
    c.width = img.naturalWidth;
    c.height = img.naturalHeight;
    const ctx = c.getContext('2d', { willReadFrequently: true });
    ctx.drawImage(img, 0, 0);
    const d = ctx.getImageData(0, 0, c.width, c.height).data;
    let h = 2166136261 >>> 0;
    let lit = 0;
    for (let i = 0; i < d.length; i += 4) {
      h = Math.imul(h ^ d[i] ^ (d[i + 1] << 8) ^ (d[i + 2] << 16), 16777619) >>> 0;
      if (d[i] + d[i + 1] + d[i + 2] > 30) lit++;
    }
    return { hash: h, lit, total: d.length / 4 };
  });

  await test('the stream image keeps changing (canvas pixels)', async () => {
    const seen = [];
    for (let i = 0; i < 4; i++) {
      seen.push(await pixelHash());
      await sleep(400);
    }
    assert(seen[0].lit > seen[0].total / 10, `the frame is mostly black: ${JSON.stringify(seen[0])}`);
    const distinct = new Set(seen.map((s) => s.hash)).size;
    assert(distinct >= 3, `only ${distinct} distinct frames in 4 samples 400 ms apart`);
  });

  await test('the stream image keeps changing (element screenshots)', async () => {
    const a = await page.locator('#stream').screenshot();
    await sleep(600);
    const b = await page.locator('#stream').screenshot();
    const ha = createHash('sha256').update(a).digest('hex');
    const hb = createHash('sha256').update(b).digest('hex');
    assert(a.length > 1000, `screenshot of #stream is ${a.length} bytes`);
    assert(ha !== hb, 'two screenshots of #stream 600 ms apart are identical');
  });

  await test('the stats show real values', async () => {
    const read = () => page.evaluate(() => Object.fromEntries(
      ['fps', 'latency', 'dropped', 'clients', 'source-state'].map((id) => [id, (document.getElementById(id).textContent || '').trim()])));
    const vals = await waitFor(async () => {
      const v = await read();
      const fps = parseFloat(v.fps.replace(/[^\d.]/g, ''));
      const clients = parseInt(v.clients.replace(/[^\d]/g, ''), 10);
      return fps > 0 && clients >= 1 && /\d/.test(v.latency) && /\d/.test(v.dropped) && /running/i.test(v['source-state'])
        ? v : null;
    }, 8000, 'stats not filled in');
    const fps = parseFloat(vals.fps.replace(/[^\d.]/g, ''));
    assert(fps > 15 && fps < 35, `#fps shows ${vals.fps} for a 25 fps source`);
    console.log(`    stats on the page: ${JSON.stringify(vals)}`);
  });

  await test('without tracking (no store) the page asks no events and the events panel stays hidden', async () => {
    const r = await fetchText(`${base}/api/events?limit=20`);
    assert(r.status === 404, `GET /api/events answered ${r.status}`);
    // The stats (every second) say whether the camera tracks objects: three of them have come by now.
    assert(!requested.includes('/api/events'), 'the page asked /api/events of a camera that tracks nothing');
    assert(await page.evaluate(() => document.getElementById('recent').hidden), 'the events panel shows');
  });

  await test('the page holds one stream and one event connection, and polls nothing', async () => {
    const s = JSON.parse((await fetchText(`${base}/api/stats`)).text);
    assert(s.clients.stream === 1, `server counts ${s.clients.stream} stream clients for one tab`);
    assert(s.clients.events === 1, `server counts ${s.clients.events} event clients for one tab`);
    // The stats ride on /events: a tab that polled /api/stats would take a third connection every second.
    const polled = requested.filter((p) => p === '/api/stats').length;
    assert(polled === 0, `the page requested /api/stats ${polled} times`);
    const streams = requested.filter((p) => p === '/video_feed').length;
    assert(streams === 1, `the page opened /video_feed ${streams} times`);
  });

  await test('a screenshot is kept in artifacts/page.png', async () => {
    const png = await page.screenshot({ path: join(artifacts, 'page.png'), fullPage: true });
    assert(png.length > 10000, `screenshot is ${png.length} bytes`);
  });

  await test('no errors in the page console', async () => {
    assert(pageErrors.length === 0, pageErrors.slice(0, 5).join('; '));
  });

  await context.close();
  context = null;

  await test('vigil exits 0 within a second of SIGTERM', async () => {
    const t0 = Date.now();
    vigil.kill('SIGTERM');
    await waitFor(() => vigilExit, 3000, 'vigil did not exit');
    assert(vigilExit.code === 0, `exit ${vigilExit.code} ${vigilExit.sig}: ${stderr.slice(-500)}`);
    assert(vigilExit.at - t0 < 1000, `took ${vigilExit.at - t0} ms`);
  });
  writeFileSync(join(artifacts, 'vigil-stderr.txt'), stderr);
}

try {
  await main();
} catch (e) {
  counts.failed++;
  console.log(`not ok - unexpected error: ${e && e.stack ? e.stack : e}`);
} finally {
  await cleanup();
  clearTimeout(timer);
}
console.log(summary());
process.exit(counts.failed ? 1 : 0);
