// vigil's page with many cameras, in headless Chromium: `vigil serve --config`
// with 16 lavfi cameras (and one disabled, one whose source is down); cam01
// loops a photo of a cat and a dog through SSD MobileNet (from the shared test
// assets) so that its tile has real boxes. Every tile's snapshot keeps
// updating within the browser's six connections per host, a tile draws its
// detections, clicking a tile focuses that camera (its MJPEG stream and
// stats), Escape goes back, #cam=NAME links to a camera.
// Keeps screenshots in artifacts/cameras.png and artifacts/cameras-focus.png.
// Ends with the line "N passed, N failed"; exits 1 on failure.
//
// Run: node tests/e2e/cameras.test.mjs   (after `npm ci` in tests/e2e)
// Environment: VIGIL_BIN (default <repo>/build/vigil), CHROMIUM (default /usr/bin/chromium),
// VIGIL_ASSETS (default <repo>/../shared/assets).

import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { artifacts, assert, chromiumBin, counts, freePort, here, repo, skip, sleep, summary, test, vigilBin, waitFor, watchdog, launchBrowser } from './harness.mjs';

const PATTERNS = ['testsrc2', 'testsrc', 'smptebars', 'rgbtestsrc'];
const assets = process.env.VIGIL_ASSETS || resolve(repo, '..', 'shared', 'assets');
const SSD = join(assets, 'models', 'tflite', 'ssd_mobilenet_v1_coco_quant_2018_06_29_detect.tflite');
const COCO = join(assets, 'labels', 'coral_coco_labels.txt');
const PETS = join(assets, 'images', 'coral_pets.jpg');
const withModel = [SSD, COCO, PETS].every((f) => existsSync(f));
const LIVE = Array.from({ length: 16 }, (_, i) => `cam${String(i + 1).padStart(2, '0')}`);

let vigil = null;
let vigilExit = null;
let context = null;
let workDir = null;

async function fetchJson(url, timeoutMs = 3000) {
  const r = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
  assert(r.status === 200, `GET ${url} answered ${r.status}`);
  return r.json();
}

async function cleanup() {
  if (context) {
    await Promise.race([context.close().catch(() => {}), sleep(5000)]);
    context = null;
  }
  if (vigil && vigilExit === null) vigil.kill('SIGKILL');
  if (workDir) rmSync(workDir, { recursive: true, force: true });
}

// Never hang: the whole run has 90 seconds.
const timer = watchdog(90000, cleanup);

async function main() {
  mkdirSync(artifacts, { recursive: true });
  let chromium;
  await test('prerequisites: vigil binary, Chromium, playwright-core', async () => {
    assert(existsSync(vigilBin), `vigil binary not found at ${vigilBin} (set VIGIL_BIN)`);
    assert(existsSync(chromiumBin), `Chromium not found at ${chromiumBin} (apt-get install chromium)`);
    ({ chromium } = await import('playwright-core'));
  });
  if (counts.failed) return;

  workDir = mkdtempSync(join(tmpdir(), 'vigil-e2e-cameras-'));
  const port = await freePort();
  const closedPort = await freePort(); // Nothing listens there: that camera keeps reconnecting.
  const base = `http://127.0.0.1:${port}`;
  const config = [`listen: 127.0.0.1:${port}`, 'inference_workers: 1', 'cameras:'];
  LIVE.forEach((name, i) => {
    config.push(`  ${name}:`, `    source: "lavfi:${PATTERNS[i % PATTERNS.length]}=size=320x240:rate=5"`);
  });
  if (withModel) {
    // The photo again and again, five times a second.
    config[4] = `    source: "lavfi:movie=${PETS},loop=loop=-1:size=1,setpts=N/(5*TB),scale=320:240"`;
    config.splice(5, 0, `    model: "${SSD}"`, `    labels: "${COCO}"`);
  }
  config.push('  spare:', '    source: "lavfi:testsrc=size=320x240:rate=5"', '    enabled: false');
  config.push('  gone:', `    source: "rtsp://127.0.0.1:${closedPort}/nothing"`);
  const configPath = join(workDir, 'cameras.yaml');
  writeFileSync(configPath, config.join('\n') + '\n');

  let stderr = '';
  // Object events are kept in the test's own folder, never in the user's.
  vigil = spawn(vigilBin, ['serve', '--config', configPath, '--data', join(workDir, 'data')],
    { stdio: ['ignore', 'ignore', 'pipe'] });
  vigil.stderr.on('data', (d) => { stderr += d; });
  vigil.on('exit', (code, sig) => { vigilExit = { code, sig, at: Date.now() }; });

  await test('vigil serves the 18 configured cameras, 16 of them running', async () => {
    const doc = await waitFor(async () => {
      if (vigilExit) throw new Error(`vigil exited ${vigilExit.code}: ${stderr.slice(-800)}`);
      const d = await fetchJson(`${base}/api/cameras`, 1000);
      return d.cameras.filter((c) => c.state === 'running').length === 16 ? d : null;
    }, 20000, '16 cameras not running');
    assert(doc.cameras.length === 18, `${doc.cameras.length} cameras listed`);
    const states = Object.fromEntries(doc.cameras.map((c) => [c.name, c.state]));
    assert(states.spare === 'disabled', `spare is ${states.spare}`);
    assert(states.gone === 'reconnecting' || states.gone === 'starting', `gone is ${states.gone}`);
  });
  if (counts.failed) return;

  let page;
  ({ context, page } = await launchBrowser(chromium, join(workDir, 'profile'), { width: 1400, height: 1000 }));
  const pageErrors = [];
  // Requests by path, and how many of one path were in flight at once at most.
  const requested = [];
  const inFlight = new Map();
  const maxInFlight = new Map();
  // Blob URLs (the tiles' snapshots once fetched) show as requests too; only the server's count.
  const http = (r) => /^https?:/.test(r.url());
  const done = (r) => {
    if (!http(r)) return;
    const p = new URL(r.url()).pathname;
    inFlight.set(p, (inFlight.get(p) || 1) - 1);
  };
  page.on('request', (r) => {
    if (!http(r)) return;
    const p = new URL(r.url()).pathname;
    requested.push({ path: p, at: Date.now() });
    const n = (inFlight.get(p) || 0) + 1;
    inFlight.set(p, n);
    maxInFlight.set(p, Math.max(n, maxInFlight.get(p) || 0));
  });
  page.on('requestfinished', done);
  page.on('requestfailed', done);
  page.on('pageerror', (e) => pageErrors.push(`pageerror: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error') pageErrors.push(`console.error: ${m.text()} (${m.location().url || ''})`);
  });
  page.setDefaultTimeout(10000);
  const streamClients = async () => (await fetchJson(`${base}/api/stats`)).clients.stream;

  await test('the page shows a grid of 18 tiles and no stream', async () => {
    const resp = await page.goto(`${base}/`, { waitUntil: 'domcontentloaded', timeout: 15000 });
    assert(resp && resp.status() === 200, `GET / answered ${resp && resp.status()}`);
    await page.waitForFunction(() => document.querySelectorAll('#grid .tile').length === 18 &&
      !document.getElementById('grid').hidden, null, { timeout: 10000 });
    assert(await page.locator('#focus').isHidden(), 'the focused view is shown beside the grid');
    const names = await page.$$eval('#grid .tile', (ts) => ts.map((t) => t.dataset.camera));
    assert(names.join(',') === [...LIVE, 'spare', 'gone'].join(','), `tiles ${names}`);
    // The first camera's stream that the page starts with is closed once the grid shows.
    await waitFor(async () => (await streamClients()) === 0, 5000, 'a stream client stays open in the grid');
  });

  let updateSeconds = null;
  await test('every running camera\'s tile shows new snapshots', async () => {
    const t0 = Date.now();
    const read = () => page.$$eval('#grid .tile', (ts) => ts.map((t) => {
      const img = t.querySelector('img.snapshot');
      return { name: t.dataset.camera, n: +(t.dataset.snapshots || 0), frame: +(t.dataset.frameId || 0),
        w: img ? img.naturalWidth : 0 };
    }));
    const first = await waitFor(async () => {
      const v = (await read()).filter((t) => LIVE.includes(t.name));
      return v.every((t) => t.n >= 1 && t.w === 320) ? v : null;
    }, 15000, 'not every tile shows a 320-pixel-wide snapshot');
    const later = await waitFor(async () => {
      const v = (await read()).filter((t) => LIVE.includes(t.name));
      return v.every((t, i) => t.n >= first[i].n + 2 && t.frame > first[i].frame) ? v : null;
    }, 15000, 'not every tile got two newer snapshots with newer frames');
    updateSeconds = (Date.now() - t0) / 1000;
    const rest = (await read()).filter((t) => !LIVE.includes(t.name));
    assert(rest.every((t) => t.n === 0), `the disabled or down camera got snapshots: ${JSON.stringify(rest)}`);
    const frames = later.map((t, i) => t.frame - first[i].frame);
    console.log(`    ${later.length}/16 tiles updated, each by ${Math.min(...frames)}–${Math.max(...frames)} frames, ` +
      `in ${updateSeconds.toFixed(1)} s`);
  });

  await test('each tile holds one snapshot request at a time; the page polls nothing else', async () => {
    for (const name of LIVE) {
      const p = `/cam/${name}/snapshot.jpg`;
      assert(maxInFlight.get(p) === 1, `${p} had ${maxInFlight.get(p)} requests in flight at once`);
    }
    const asked = requested.filter((r) => /^\/cam\/(spare|gone)\//.test(r.path)).length;
    assert(asked === 0, `${asked} requests for the disabled or down camera`);
    const other = requested.filter((r) => !/^\/cam\/cam\d\d\/snapshot\.jpg$/.test(r.path) &&
      !['/', '/style.css', '/app.js', '/events', '/video_feed', '/api/cameras'].includes(r.path));
    assert(other.length === 0, `unexpected requests: ${other.slice(0, 5).map((r) => r.path)}`);
    const events = requested.filter((r) => r.path === '/events').length;
    assert(events === 1, `the page opened /events ${events} times`);
  });

  await test('tiles show their state badges and analysis', async () => {
    const badges = await waitFor(async () => {
      const b = await page.$$eval('#grid .tile', (ts) => Object.fromEntries(ts.map((t) =>
        [t.dataset.camera, t.querySelector('.tile-state').textContent + '|' + t.querySelector('.tile-fps').textContent])));
      return b.cam07 === 'running|no analysis' && b.spare.startsWith('disabled|') && /^(reconnecting|starting)\|/.test(b.gone)
        ? b : null;
    }, 5000, 'badges not right');
    const running = LIVE.filter((n) => badges[n].startsWith('running|')).length;
    assert(running === 16, `${running} running badges`);
  });

  await test('a tile draws its camera\'s newest detections as boxes and lists them', async () => {
    // No model runs here, so the event is handed to the page's own handler; the tile is drawn at once.
    const drawn = await page.evaluate(() => {
      onFrameEvent({ camera: 'cam03', frame_id: 1, width: 320, height: 240, detections: [
        { label: 'person', score: 0.91, box: [0.1, 0.2, 0.5, 0.8] },
        { label: 'dog', score: 0.5, box: [0.6, 0.6, 0.9, 0.9] }] });
      renderTiles();
      const t = document.querySelector('.tile[data-camera="cam03"]');
      const frame = t.querySelector('.frame').getBoundingClientRect();
      const boxes = [...t.querySelectorAll('.box')].map((b) => {
        const r = b.getBoundingClientRect();
        return { text: b.textContent, x: (r.left - frame.left) / frame.width, y: (r.top - frame.top) / frame.height,
          w: r.width / frame.width, h: r.height / frame.height };
      });
      const items = [...t.querySelectorAll('.tile-detections li')].map((li) => li.textContent);
      // cam01 has its model's boxes.
      const others = document.querySelectorAll('.tile:not([data-camera="cam03"]):not([data-camera="cam01"]) .box').length;
      return { boxes, items, others };
    });
    assert(drawn.boxes.length === 2, `boxes ${JSON.stringify(drawn.boxes)}`);
    const b = drawn.boxes[0];
    const near = (a, e) => Math.abs(a - e) < 0.02;
    assert(b.text === 'person 91%' && near(b.x, 0.1) && near(b.y, 0.2) && near(b.w, 0.4) && near(b.h, 0.6),
      `person box ${JSON.stringify(b)}`);
    assert(drawn.items.join('|') === 'person91%|dog50%', `listed ${drawn.items}`);
    assert(drawn.others === 0, `${drawn.others} boxes on other tiles`);
  });

  const realBoxes = 'cam01\'s tile draws its model\'s detections where the server\'s events put them';
  if (!withModel) skip(realBoxes, `no SSD MobileNet, labels or photo under ${assets}`);
  else await test(realBoxes, async () => {
    const seen = await waitFor(() => page.evaluate(() => {
      renderTiles(); // What the tile shows is now the newest event's.
      const ev = cameras.get('cam01').event;
      const t = document.querySelector('.tile[data-camera="cam01"]');
      const frame = t.querySelector('.frame').getBoundingClientRect();
      const boxes = [...t.querySelectorAll('.box')].map((b) => {
        const r = b.getBoundingClientRect();
        return { text: b.textContent, x: (r.left - frame.left) / frame.width, y: (r.top - frame.top) / frame.height };
      });
      const items = [...t.querySelectorAll('.tile-detections li')].map((li) => li.textContent);
      return ev && ev.detections.length > 0 ? { detections: ev.detections, boxes, items } : null;
    }), 15000, 'no detections for cam01');
    const { detections, boxes, items } = seen;
    assert(detections.some((d) => d.label === 'dog'), `detections ${JSON.stringify(detections)}`);
    assert(boxes.length === detections.length, `${boxes.length} boxes for ${detections.length} detections`);
    detections.forEach((d, i) => {
      const b = boxes[i];
      assert(b.text === `${d.label} ${Math.round(d.score * 100)}%` && Math.abs(b.x - d.box[0]) < 0.02 &&
        Math.abs(b.y - d.box[1]) < 0.02, `box ${JSON.stringify(b)} for ${JSON.stringify(d)}`);
    });
    // A tracked detection is listed with its id ("dog#1 83%"), once its track is confirmed.
    const first = detections[0];
    const id = typeof first.track_id === 'number' ? `#${first.track_id}` : '';
    assert(items[0] === `${first.label}${id}${Math.round(first.score * 100)}%`, `listed ${items}`);
    console.log(`    cam01: ${boxes.map((b) => b.text).join(', ')}`);
  });

  await test('a screenshot of the grid is kept in artifacts/cameras.png', async () => {
    const png = await page.screenshot({ path: join(artifacts, 'cameras.png'), fullPage: true });
    assert(png.length > 20000, `screenshot is ${png.length} bytes`);
  });

  // The camera with a model, for its analysis stats.
  const FOCUS = withModel ? 'cam01' : 'cam05';
  await test(`clicking a tile focuses its camera (${FOCUS}): its stream and stats, and the grid stops polling`, async () => {
    await page.click(`.tile[data-camera="${FOCUS}"] button.tile-view`);
    await page.waitForFunction((name) => location.hash === '#cam=' + name && !document.getElementById('focus').hidden &&
      document.getElementById('grid').hidden, FOCUS, { timeout: 5000 });
    await page.waitForFunction((name) => {
      const img = document.getElementById('stream');
      return img.src.includes(`/cam/${name}/video_feed`) && img.naturalWidth === 320;
    }, FOCUS, { timeout: 10000 });
    const vals = await waitFor(async () => {
      const v = await page.evaluate(() => Object.fromEntries(['focus-name', 'fps', 'source-fps', 'clients', 'source-state',
        'resolution', 'analysis-fps', 'analysis-latency', 'analysis-share']
        .map((id) => [id, document.getElementById(id).textContent.trim()])));
      const analysed = () => parseFloat(v['analysis-fps']) > 1 && /^\d+% \(fair \d+%\)$/.test(v['analysis-share']) &&
        /\d ms$/.test(v['analysis-latency']);
      return parseFloat(v.fps) > 3 && v.clients === '1 viewer' && v['source-state'] === 'running' &&
        (withModel ? analysed() : v['analysis-fps'] === 'off') ? v : null;
    }, 8000, 'the focused camera\'s stats not filled in');
    assert(vals['focus-name'] === FOCUS && vals.resolution === '320×240', `focused view shows ${JSON.stringify(vals)}`);
    const stats = await fetchJson(`${base}/api/stats`);
    const cam = stats.cameras.find((c) => c.name === FOCUS);
    assert(stats.clients.stream === 1 && cam.clients.stream === 1, `server counts ${stats.clients.stream} streams`);
    const t = Date.now();
    await sleep(1500);
    const polled = requested.filter((r) => r.at > t && r.path.endsWith('/snapshot.jpg')).length;
    assert(polled === 0, `${polled} snapshot requests while a camera is in focus`);
    console.log(`    focused view: ${JSON.stringify(vals)}`);
  });

  await test('a screenshot of the focused view is kept in artifacts/cameras-focus.png', async () => {
    const png = await page.screenshot({ path: join(artifacts, 'cameras-focus.png'), fullPage: true });
    assert(png.length > 10000, `screenshot is ${png.length} bytes`);
  });

  await test('Escape goes back to the grid, closes the stream and the tiles update again', async () => {
    await page.keyboard.press('Escape');
    await page.waitForFunction(() => location.hash === '' && !document.getElementById('grid').hidden &&
      document.getElementById('focus').hidden, null, { timeout: 5000 });
    const focusedTile = await page.evaluate(() => document.activeElement.closest('.tile')?.dataset.camera);
    assert(focusedTile === FOCUS, `keyboard focus on ${focusedTile} after going back`);
    await waitFor(async () => (await streamClients()) === 0, 5000, 'the stream stays open in the grid');
    const before = await page.$eval('.tile[data-camera="cam16"]', (t) => +t.dataset.snapshots);
    await page.waitForFunction((n) => +document.querySelector('.tile[data-camera="cam16"]').dataset.snapshots > n,
      before, { timeout: 5000 });
  });

  await test('#cam=NAME opens that camera directly; the back button returns to the grid', async () => {
    // A new document, not a hash change in this one.
    await page.goto('about:blank');
    await page.goto(`${base}/#cam=cam12`, { waitUntil: 'domcontentloaded', timeout: 15000 });
    await page.waitForFunction(() => document.getElementById('stream').src.includes('/cam/cam12/video_feed') &&
      document.getElementById('stream').naturalWidth === 320 && document.getElementById('grid').hidden, null,
    { timeout: 10000 });
    await waitFor(async () => (await fetchJson(`${base}/api/stats`)).cameras.find((c) => c.name === 'cam12')
      .clients.stream === 1, 5000, 'cam12 has no viewer');
    await page.click('#back');
    await page.waitForFunction(() => !document.getElementById('grid').hidden && location.hash === '', null,
      { timeout: 5000 });
    await waitFor(async () => (await streamClients()) === 0, 5000, 'the stream stays open in the grid');
  });

  await test('another node\'s camera shows greyed with a link to its node and is never fetched', async () => {
    const tile = await page.evaluate(async () => {
      const doc = await (await fetch('/api/cameras')).json();
      doc.cameras.push({ name: 'yard', node: 'b', url: 'http://127.0.0.1:9', local: false, online: false,
        state: 'running', analysis: true, width: 640, height: 480 });
      setCameras(doc.cameras);
      const t = document.querySelector('.tile[data-camera="yard"]');
      return { remote: t.classList.contains('remote'), href: t.querySelector('a.tile-view')?.href,
        badge: t.querySelector('.tile-state').textContent, img: t.querySelectorAll('img').length,
        tiles: document.querySelectorAll('#grid .tile').length };
    });
    assert(tile.remote && tile.href === 'http://127.0.0.1:9/#cam=yard' && tile.badge === 'offline' && tile.img === 0 &&
      tile.tiles === 19, `remote tile ${JSON.stringify(tile)}`);
    await sleep(1000);
    assert(!requested.some((r) => r.path.includes('yard')), 'the page asked for the other node\'s camera');
  });

  await test('no errors in the page console', async () => {
    assert(pageErrors.length === 0, pageErrors.slice(0, 5).join('; '));
  });

  await context.close();
  context = null;

  await test('vigil exits 0 within two seconds of SIGTERM', async () => {
    const t0 = Date.now();
    vigil.kill('SIGTERM');
    await waitFor(() => vigilExit, 5000, 'vigil did not exit');
    assert(vigilExit.code === 0, `exit ${vigilExit.code} ${vigilExit.sig}: ${stderr.slice(-500)}`);
    assert(vigilExit.at - t0 < 2000, `took ${vigilExit.at - t0} ms`);
  });
  writeFileSync(join(artifacts, 'vigil-cameras-stderr.txt'), stderr);
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
console.log(`# ${((Date.now() - t0) / 1000).toFixed(1)} s`);
console.log(summary());
process.exit(counts.failed ? 1 : 0);
