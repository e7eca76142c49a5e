// What the headless-Chromium tests share: where vigil and Chromium are, a tiny
// TAP-like runner whose last line is "N passed, N failed[, N skipped]", and
// the small helpers every test uses.
// Environment: VIGIL_BIN (default <repo>/build/vigil), CHROMIUM (default /usr/bin/chromium).

import { createServer } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const here = dirname(fileURLToPath(import.meta.url));
export const repo = resolve(here, '..', '..');
export const vigilBin = process.env.VIGIL_BIN || join(repo, 'build', 'vigil');
export const chromiumBin = process.env.CHROMIUM || '/usr/bin/chromium';
export const artifacts = join(here, 'artifacts');
export const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];

export const counts = { passed: 0, failed: 0, skipped: 0 };

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

export async function test(name, fn) {
  const t0 = Date.now();
  try {
    await fn();
    counts.passed++;
    console.log(`ok - ${name} (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
  } catch (e) {
    counts.failed++;
    console.log(`not ok - ${name}: ${e && e.stack ? e.stack.split('\n').slice(0, 3).join('\n    ') : e}`);
  }
}

export function skip(name, why) {
  counts.skipped++;
  console.log(`ok - ${name} # SKIP ${why}`);
}

export function summary() {
  return `${counts.passed} passed, ${counts.failed} failed${counts.skipped ? `, ${counts.skipped} skipped` : ''}`;
}

export function assert(cond, msg) {
  if (!cond) throw new Error(msg);
}

export function freePort() {
  return new Promise((res, rej) => {
    const s = createServer();
    s.on('error', rej);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => res(port));
    });
  });
}

// Polls fn until it returns a true value (returned); throws with what and the last value after timeoutMs.
export async function waitFor(fn, timeoutMs, what) {
  const deadline = Date.now() + timeoutMs;
  let last;
  while (Date.now() < deadline) {
    try {
      last = await fn();
      if (last) return last;
    } catch (e) {
      last = e;
    }
    await sleep(100);
  }
  throw new Error(`${what} (after ${timeoutMs} ms; last: ${typeof last === 'object' ? JSON.stringify(last) : last})`);
}

// Ends the run with the summary line after at most ms, whatever hangs; cleanup first.
export function watchdog(ms, cleanup) {
  return setTimeout(async () => {
    console.log(`not ok - watchdog: the run took more than ${ms / 1000} s`);
    counts.failed++;
    await cleanup();
    console.log(summary());
    process.exit(1);
  }, ms);
}

// Headless Debian Chromium on a profile folder of its own: the context, and its first page.
export async function launchBrowser(chromium, profileDir, viewport = { width: 1280, height: 900 }) {
  const context = await chromium.launchPersistentContext(profileDir, {
    executablePath: chromiumBin,
    headless: true,
    args: CHROMIUM_ARGS,
    viewport,
    timeout: 30000,
  });
  return { context, page: context.pages()[0] || await context.newPage() };
}
