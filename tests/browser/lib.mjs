// Shared helpers for the browser tests (a11y.mjs, keyboard.mjs).
// Drives Debian's Chromium through playwright-core; never downloads a browser.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const HERE = path.dirname(fileURLToPath(import.meta.url));

export const CHROMIUM = process.env.HYS_CHROMIUM || '/usr/bin/chromium';
export const NAV_TIMEOUT_MS = 15_000;
export const MAX_JOURNEY_PAGES = 40;
export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** Exit with a message (status 1). */
export function die(prog, msg) {
  console.error(`${prog}: ${msg}`);
  process.exit(1);
}

/**
 * Validate BASE_URL: must be http(s) on a loopback address (the tests only
 * ever talk to a server started on this machine). Returns it without a
 * trailing slash.
 */
export function parseBaseUrl(prog, raw) {
  let u;
  try {
    u = new URL(raw);
  } catch {
    die(prog, `invalid BASE_URL ${JSON.stringify(raw)}`);
  }
  if (!/^https?:$/.test(u.protocol)) die(prog, `BASE_URL must be http(s): ${raw}`);
  if (!isLoopbackHost(u.hostname)) die(prog, `BASE_URL must be a loopback address (127.0.0.1, localhost, [::1]): ${raw}`);
  return u.origin + u.pathname.replace(/\/+$/, '');
}

export function isLoopbackHost(host) {
  return host === 'localhost' || host === '[::1]' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

/**
 * Overall watchdog: if the script has not finished within `ms`, call
 * `onTimeout` (synchronous: print what is known), then exit 1 at once.
 * Playwright's process-exit handler kills the Chromium it launched.
 */
export function startWatchdog(prog, ms, onTimeout) {
  const t = setTimeout(() => {
    console.log(`${prog}: FAIL overall timeout of ${Math.round(ms / 1000)} s exceeded`);
    try {
      onTimeout?.();
    } finally {
      process.exit(1);
    }
  }, ms);
  return () => clearTimeout(t);
}

/**
 * Launch Chromium with a fresh temporary profile. Every request that is not to
 * a loopback host is aborted (and remembered in `blocked`).
 * Returns { context, page, blocked, close }.
 */
export async function launch({ javaScriptEnabled = true } = {}) {
  if (!fs.existsSync(CHROMIUM)) {
    throw new Error(`${CHROMIUM} not found: run tests/browser/install.sh first`);
  }
  const userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'hys-chromium-'));
  let context;
  try {
    context = await chromium.launchPersistentContext(userDataDir, {
      executablePath: CHROMIUM,
      headless: true,
      args: CHROMIUM_ARGS,
      javaScriptEnabled,
      bypassCSP: true, // so our page.evaluate-injected axe is never blocked by the app's CSP
      viewport: { width: 1280, height: 900 },
      timeout: 30_000,
    });
  } catch (err) {
    fs.rmSync(userDataDir, { recursive: true, force: true });
    throw err;
  }
  context.setDefaultNavigationTimeout(NAV_TIMEOUT_MS);
  context.setDefaultTimeout(NAV_TIMEOUT_MS);
  const blocked = new Set();
  await context.route('**/*', (route) => {
    const url = route.request().url();
    let host = '';
    try {
      host = new URL(url).hostname;
    } catch {
      /* data: etc. */
    }
    if (/^(data|blob|about):/.test(url) || isLoopbackHost(host)) return route.continue();
    blocked.add(url);
    return route.abort('blockedbyclient');
  });
  const page = context.pages()[0] ?? (await context.newPage());
  let closed = false;
  const close = async () => {
    if (closed) return;
    closed = true;
    try {
      await Promise.race([context.close(), new Promise((r) => setTimeout(r, 5000))]);
    } finally {
      fs.rmSync(userDataDir, { recursive: true, force: true });
    }
  };
  return { context, page, blocked, close };
}

/**
 * Run `action` (a click or key press that submits / follows a link) and wait
 * until the main frame has navigated and loaded. Returns the HTTP status of
 * the final (non-redirect) document response, or null if unknown.
 */
export async function navigateBy(page, action) {
  let last = null;
  const onResponse = (r) => {
    try {
      if (r.request().isNavigationRequest() && r.frame() === page.mainFrame() && !(r.status() >= 300 && r.status() < 400)) {
        last = r;
      }
    } catch {
      /* frame detached */
    }
  };
  page.on('response', onResponse);
  try {
    const nav = page.waitForEvent('framenavigated', {
      predicate: (f) => f === page.mainFrame(),
      timeout: NAV_TIMEOUT_MS,
    });
    await action();
    await nav;
    await page.waitForLoadState('load', { timeout: NAV_TIMEOUT_MS });
  } finally {
    page.off('response', onResponse);
  }
  return last ? last.status() : null;
}

/** Path of the current page (no origin, no query). */
export function currentPath(page) {
  return new URL(page.url()).pathname;
}

/** Pathname relative to BASE_URL's path prefix (normally the same as currentPath). */
export function relPath(base, page) {
  if (!/^https?:/.test(page.url())) return page.url();
  const prefix = new URL(base).pathname.replace(/\/+$/, '');
  const p = currentPath(page);
  return prefix && p.startsWith(prefix) ? p.slice(prefix.length) || '/' : p;
}

/** Text of the confirmation reference panel (trimmed, whitespace collapsed), or ''. */
export async function confirmationReference(page) {
  const bodies = page.locator('.hys-panel__body');
  if ((await bodies.count()) === 0) return '';
  const text = (await bodies.first().innerText()).replace(/\s+/g, ' ').trim();
  return text;
}

/** Best guess at the reference itself out of the panel text (last token that looks like one). */
export function extractReference(panelText) {
  const tokens = panelText.match(/[A-Z0-9][A-Z0-9-]{3,}/g);
  return tokens ? tokens[tokens.length - 1] : panelText;
}

export const AXE_PATH = path.join(HERE, 'node_modules', 'axe-core', 'axe.min.js');
export const AXE_TAGS = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22a', 'wcag22aa'];
let axeSource = null;

/** Save a full-page screenshot of the `n`th checked page in `dir` (nothing when `dir` is empty). */
export async function screenshot(dir, n, label, page) {
  if (!dir) return;
  fs.mkdirSync(dir, { recursive: true });
  const name = `${String(n).padStart(2, '0')}-${label.replace(/[^A-Za-z0-9]+/g, '-').replace(/^-|-$/g, '')}.png`;
  await page.screenshot({ path: `${dir}/${name}`, fullPage: true }).catch(() => {});
}

/** Switch the page's scripts on or off through the DevTools protocol (`cdp` null: leave them). */
export async function setScripts(cdp, enabled) {
  if (cdp) await cdp.send('Emulation.setScriptExecutionDisabled', { value: !enabled });
}

/**
 * Run axe-core with the WCAG 2.2 A and AA rules on the current page and return its violations, each with up
 * to three of its nodes. For a page loaded with scripts off (`cdp` set), scripts are on only while axe runs.
 */
export async function runAxe(page, cdp) {
  axeSource ??= fs.readFileSync(AXE_PATH, 'utf8');
  await setScripts(cdp, true);
  try {
    if (!(await page.evaluate(() => typeof window.axe === 'object' && window.axe !== null))) {
      await page.evaluate(axeSource);
    }
    return await page.evaluate(
      async (tags) => {
        const r = await window.axe.run(document, {
          runOnly: { type: 'tag', values: tags },
          resultTypes: ['violations'],
        });
        return r.violations.map((v) => ({
          id: v.id,
          impact: v.impact,
          help: v.help,
          helpUrl: v.helpUrl,
          count: v.nodes.length,
          nodes: v.nodes.slice(0, 3).map((n) => ({ target: n.target.join(' '), html: n.html })),
        }));
      },
      AXE_TAGS,
    );
  } finally {
    await setScripts(cdp, false);
  }
}

/** Print the violations of every checked page ({label, url, violations}); returns how many there were. */
export function printViolations(checked) {
  const bad = checked.filter((c) => c.violations.length);
  if (bad.length) {
    console.log('\nViolations:');
    for (const c of bad) {
      console.log(`\n[${c.label}] ${c.url}`);
      for (const v of c.violations) {
        console.log(`  ${v.id} (${v.impact}): ${v.help} [${v.count} node${v.count === 1 ? '' : 's'}] ${v.helpUrl}`);
        for (const n of v.nodes) {
          const html = n.html.replace(/\s+/g, ' ');
          console.log(`    - ${n.target}  ${html.length > 160 ? html.slice(0, 157) + '...' : html}`);
        }
        if (v.count > v.nodes.length) console.log(`    ... and ${v.count - v.nodes.length} more`);
      }
    }
  }
  return checked.reduce((a, c) => a + c.violations.length, 0);
}

/**
 * Whether the current page reflows at 320 CSS px wide (WCAG 1.4.10): reloaded in a 320 px wide viewport, the
 * document must not scroll sideways (a wide table may scroll inside its own focusable region). Restores the
 * viewport. Returns null when it reflows, else what overflows.
 */
export async function reflowProblem(page) {
  const before = page.viewportSize();
  await page.setViewportSize({ width: 320, height: 800 });
  await page.reload({ waitUntil: 'load' });
  const found = await page.evaluate(() => {
    const doc = document.documentElement;
    if (doc.scrollWidth <= doc.clientWidth) return null;
    const wide = [...document.querySelectorAll('body *')]
      .filter((el) => el.getBoundingClientRect().right > doc.clientWidth + 1)
      .slice(0, 3)
      .map((el) => `${el.tagName.toLowerCase()}${el.className ? '.' + String(el.className).split(' ')[0] : ''}`);
    return `scrolls to ${doc.scrollWidth}px at 320px wide (${wide.join(', ')})`;
  });
  if (before) await page.setViewportSize(before);
  return found;
}
