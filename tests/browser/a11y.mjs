#!/usr/bin/env node
// Accessibility check of Have Your Say in a real browser (Debian's Chromium)
// with axe-core (WCAG 2.0/2.1/2.2 A and AA rules).
//
//   node tests/browser/a11y.mjs <BASE_URL> <SLUG_OPEN> <SLUG_CLOSED>
//
// Pages are loaded with JavaScript OFF (page scripts never run, so axe sees
// the no-JS page every visitor gets first). Script execution is switched on
// through the DevTools protocol only for the moment axe runs, because axe
// needs timers, which Chromium does not fire while scripts are disabled.
// A short second pass checks a few pages with JavaScript ON.
//
// Exit 0 when every page has no violation and every step worked, else 1.
import {
  MAX_JOURNEY_PAGES,
  confirmationReference,
  die,
  extractReference,
  launch,
  navigateBy,
  parseBaseUrl,
  layoutProblems,
  printViolations,
  relPath,
  runAxe,
  screenshot,
  setScripts,
  startWatchdog,
} from './lib.mjs';
import { describeGroups, errorSummary, fillInvalid, fillValid, unansweredGroups } from './form.mjs';

const PROG = 'a11y';
const TOTAL_TIMEOUT_MS = Number(process.env.HYS_BROWSER_TIMEOUT_S || 120) * 1000;
// Optional: a directory to save a full-page screenshot of every checked page/state.
const SHOTS_DIR = process.env.HYS_BROWSER_SCREENSHOTS || '';

const args = process.argv.slice(2);
if (args.length !== 3) die(PROG, 'usage: node tests/browser/a11y.mjs <BASE_URL> <SLUG_OPEN> <SLUG_CLOSED>');
const BASE = parseBaseUrl(PROG, args[0]);
const [SLUG_OPEN, SLUG_CLOSED] = args.slice(1).map((s) => encodeURIComponent(s));

/** @type {{label: string, url: string, violations: any[]}[]} */
const checked = [];
/** @type {{label: string, message: string}[]} */
const failures = [];
const notes = [];

function fail(label, message) {
  failures.push({ label, message });
  console.log(`FAIL ${label}: ${message}`);
}

// ---------------------------------------------------------------- axe

/** Run the layout checks and axe on the current page; `cdp` is set for a no-JS page. */
async function axeCheck(page, cdp, label) {
  for (const problem of await layoutProblems(page)) fail(label, problem);
  const violations = await runAxe(page, cdp);
  const url = relPath(BASE, page) + new URL(page.url()).search;
  checked.push({ label, url, violations });
  await screenshot(SHOTS_DIR, checked.length, label, page);
  const n = violations.reduce((a, v) => a + v.count, 0);
  console.log(`${violations.length ? 'FAIL' : 'ok  '} ${label} ${url}${violations.length ? ` (${violations.length} rules, ${n} nodes)` : ''}`);
}

// ---------------------------------------------------------------- steps

async function gotoPage(page, cdp, label, path, okStatuses, { published = false } = {}) {
  const resp = await page.goto(BASE + path, { waitUntil: 'load' });
  const status = resp ? resp.status() : null;
  if (!okStatuses.includes(status)) {
    fail(label, `GET ${path} returned ${status}, expected ${okStatuses.join(' or ')}`);
    return false;
  }
  if (published) {
    if ((await page.locator('#we-asked-you-said-we-did').count()) === 0) fail(label, 'no "We asked, you said, we did"');
    await page.evaluate(() => document.querySelectorAll('details').forEach((d) => { d.open = true; }));
  }
  await axeCheck(page, cdp, label);
  return true;
}

function continueButton(page) {
  return page.locator('form button[type=submit]').filter({ hasText: /Continue/ }).first();
}

async function submitContinue(page) {
  const btn = continueButton(page);
  if ((await btn.count()) === 0) throw new Error(`no Continue button (button[type=submit]) on ${relPath(BASE, page)}`);
  return navigateBy(page, () => btn.click());
}

const respondPrefix = (slug) => `/consultations/${slug}/respond`;

/** Classify the current page of the journey. */
function journeyState(page, slug) {
  const p = relPath(BASE, page).replace(/\/+$/, '');
  const prefix = respondPrefix(slug);
  if (p === `${prefix}/check`) return { kind: 'check' };
  const m = p.startsWith(`${prefix}/`) ? p.slice(prefix.length + 1) : null;
  if (m && !m.includes('/')) return { kind: 'question', key: decodeURIComponent(m) };
  return { kind: 'other', path: p };
}

async function fillAllValid(page, groups, label) {
  for (const g of groups) {
    try {
      await fillValid(page, g);
    } catch (err) {
      fail(label, err.message.split('\n')[0]);
    }
  }
}

const axeAfterLoad = axeCheck;

/** One question page: blank, empty submit, invalid submit, valid submit. Returns false to abort. */
async function questionPage(page, cdp, slug, key) {
  const sectionPath = `${respondPrefix(slug)}/${encodeURIComponent(key)}`;
  const L = `section ${key}`;
  const groups = await describeGroups(page);
  if (groups.length === 0) {
    fail(L, `question page ${sectionPath} has no .hys-form-group[data-question-key]`);
    return false;
  }
  await axeAfterLoad(page, cdp, `${L} (blank)`);

  // 1. Continue with nothing filled in.
  let status = await submitContinue(page);
  if (status !== null && status >= 500) fail(`${L} (nothing entered)`, `server answered ${status}`);
  let es = await errorSummary(page);
  let st = journeyState(page, slug);
  if (es.present) {
    if (status !== 422) fail(`${L} with nothing entered`, `answered ${status}, expected 422`);
    await axeAfterLoad(page, cdp, `${L} with nothing entered`);
    if (es.brokenLinks.length) fail(`${L} with nothing entered`, `error summary links to missing ids: ${es.brokenLinks.join(', ')}`);
  } else {
    const required = groups.filter((g) => g.required).map((g) => g.key);
    if (required.length) fail(L, `no error summary after continuing with required questions (${required.join(', ')}) blank`);
    else notes.push(`${L}: accepted with nothing entered (no required questions)`);
    if (!(st.kind === 'question' && st.key === key)) {
      await page.goto(BASE + sectionPath, { waitUntil: 'load' });
    }
  }

  // 2. Invalid values wherever the contract gives a way to make one.
  const current = await describeGroups(page);
  const invalid = [];
  for (const g of current) {
    try {
      const what = await fillInvalid(page, g);
      if (what) invalid.push(what);
    } catch (err) {
      fail(`${L} (invalid values)`, err.message.split('\n')[0]);
    }
  }
  if (invalid.length) {
    // Answer the remaining questions validly so only the invalid ones error.
    const invalidKeys = new Set(invalid.map((s) => s.split('=')[0]));
    await fillAllValid(page, current.filter((g) => !invalidKeys.has(g.key)), `${L} (invalid values)`);
    status = await submitContinue(page);
    if (status !== null && status >= 500) fail(`${L} with invalid values`, `server answered ${status}`);
    es = await errorSummary(page);
    if (es.present) {
      if (status !== 422) fail(`${L} with invalid values`, `answered ${status}, expected 422`);
      await axeAfterLoad(page, cdp, `${L} with invalid values`);
      if (es.brokenLinks.length) fail(`${L} with invalid values`, `error summary links to missing ids: ${es.brokenLinks.join(', ')}`);
    } else {
      fail(`${L} with invalid values`, `no error summary: server accepted ${invalid.join('; ')}`);
      await page.goto(BASE + sectionPath, { waitUntil: 'load' });
    }
  } else {
    notes.push(`${L}: no invalid value possible for its question kinds`);
  }

  // 3. Valid values, continue.
  const again = await describeGroups(page);
  await fillAllValid(page, again, `${L} (valid values)`);
  status = await submitContinue(page);
  if (status !== null && status >= 400) {
    fail(`${L} with valid values`, `server answered ${status}`);
    return false;
  }
  es = await errorSummary(page);
  if (es.present) {
    fail(`${L} with valid values`, `still has errors: ${es.text.slice(0, 300)}`);
    return false;
  }
  return true;
}

async function journey(page, cdp, slug) {
  const start = `${respondPrefix(slug)}`;
  const resp = await page.goto(BASE + start, { waitUntil: 'load' });
  if (!resp || resp.status() !== 200) {
    fail('journey', `GET ${start} ended with status ${resp ? resp.status() : 'none'}`);
    return;
  }
  let st = journeyState(page, slug);
  if (st.kind !== 'question') {
    fail('journey', `GET ${start} did not lead to a question page (now at ${relPath(BASE, page)})`);
    return;
  }
  const seen = new Map();
  let pages = 0;
  while (st.kind === 'question') {
    if (++pages > MAX_JOURNEY_PAGES) {
      fail('journey', `more than ${MAX_JOURNEY_PAGES} question pages without reaching ${start}/check`);
      return;
    }
    seen.set(st.key, (seen.get(st.key) || 0) + 1);
    if (seen.get(st.key) > 2) {
      fail('journey', `question page ${st.key} came back ${seen.get(st.key)} times: routing loop?`);
      return;
    }
    if (!(await questionPage(page, cdp, slug, st.key))) return;
    st = journeyState(page, slug);
  }
  if (st.kind !== 'check') {
    fail('journey', `expected a question page or ${start}/check, got ${st.path}`);
    return;
  }

  // Check your answers.
  await axeAfterLoad(page, cdp, 'check your answers');
  const change = page.locator('a').filter({ hasText: /^\s*Change\b/ });
  if ((await change.count()) === 0) {
    fail('check your answers', 'no "Change" link');
  } else {
    const href = await change.first().getAttribute('href');
    await navigateBy(page, () => change.first().click());
    const cs = journeyState(page, slug);
    if (cs.kind !== 'question') {
      fail('change answer', `"Change" link ${href} led to ${relPath(BASE, page)}, not a question page`);
    } else {
      await axeAfterLoad(page, cdp, `change answer (section ${cs.key})`);
      const empty = await unansweredGroups(page);
      if (empty.length) fail('change answer', `previous answers not shown for: ${empty.join(', ')}`);
      await submitContinue(page);
      const back = journeyState(page, slug);
      if (back.kind !== 'check') fail('change answer', `Continue after "Change" went to ${relPath(BASE, page)}, not back to ${start}/check`);
    }
    if (journeyState(page, slug).kind !== 'check') await page.goto(BASE + `${start}/check`, { waitUntil: 'load' });
  }

  // Submit.
  const submit = page.getByRole('button', { name: /Submit response/ });
  if ((await submit.count()) === 0) {
    fail('check your answers', 'no "Submit response" button');
    return;
  }
  const status = await navigateBy(page, () => submit.first().click());
  if (status !== 200) {
    fail('confirmation', `submitting answered ${status} at ${relPath(BASE, page)}`);
    return;
  }
  await axeAfterLoad(page, cdp, 'confirmation');
  const panel = await confirmationReference(page);
  if (!panel) fail('confirmation', `no reference: .hys-panel__body missing or empty at ${relPath(BASE, page)}`);
  else console.log(`     reference: ${extractReference(panel)}`);
}

/** A few pages with JavaScript on, in case the app's scripts change the DOM. */
async function jsPass(page, slug) {
  for (const [label, path] of [
    ['[js] hub', '/'],
    ['[js] consultation', `/consultations/${slug}`],
    ['[js] results (live)', `/consultations/${slug}/results`],
  ]) {
    const resp = await page.goto(BASE + path, { waitUntil: 'load' });
    if (!resp || resp.status() !== 200) {
      fail(label, `GET ${path} returned ${resp ? resp.status() : 'none'}`);
      continue;
    }
    await axeCheck(page, null, label);
  }
  const resp = await page.goto(BASE + respondPrefix(slug), { waitUntil: 'load' });
  const st = journeyState(page, slug);
  if (!resp || resp.status() !== 200 || st.kind !== 'question') {
    fail('[js] first question', `GET ${respondPrefix(slug)} did not lead to a question page`);
    return;
  }
  await axeCheck(page, null, `[js] section ${st.key} (blank)`);
  // Continue with nothing entered: the app may validate client-side (no
  // navigation) or on the server (navigation); accept either.
  const btn = continueButton(page);
  await btn.click();
  await page.waitForLoadState('load');
  try {
    await page.locator('.hys-error-summary').first().waitFor({ state: 'attached', timeout: 5000 });
    await axeCheck(page, null, `[js] section ${st.key} with nothing entered`);
  } catch {
    notes.push(`[js] section ${st.key}: no error summary after continuing with nothing entered`);
  }
}

// ---------------------------------------------------------------- main

function report(blocked) {
  printViolations(checked);
  if (blocked.size) notes.push(`blocked ${blocked.size} non-loopback request(s), e.g. ${[...blocked][0]}`);
  if (notes.length) {
    console.log('\nNotes:');
    for (const n of notes) console.log(`  ${n}`);
  }
  if (failures.length) {
    console.log('\nStep failures:');
    for (const f of failures) console.log(`  [${f.label}] ${f.message}`);
  }
  const nViol = checked.reduce((a, c) => a + c.violations.length, 0);
  const summary = `${PROG}: ${checked.length} pages checked, ${nViol} violations`;
  if (nViol || failures.length) {
    console.log(`\n${summary}, ${failures.length} step failures: FAILED`);
    return 1;
  }
  console.log(`\n${summary}`);
  return 0;
}

async function main() {
  let browser;
  const stopWatchdog = startWatchdog(PROG, TOTAL_TIMEOUT_MS, () => {
    failures.push({ label: 'timeout', message: `overall timeout of ${TOTAL_TIMEOUT_MS / 1000} s exceeded` });
    report(browser ? browser.blocked : new Set());
  });
  let code = 1;
  try {
    browser = await launch({ javaScriptEnabled: true });
    const { context, page } = browser;
    const cdp = await context.newCDPSession(page);
    await setScripts(cdp, false);

    const steps = [
      ['hub', '/', [200]],
      ['hub search', '/?q=fire', [200]],
      ['consultation (open)', `/consultations/${SLUG_OPEN}`, [200]],
      ['consultation (closed)', `/consultations/${SLUG_CLOSED}`, [200]],
      ['respond to closed consultation', `/consultations/${SLUG_CLOSED}/respond`, [200, 409]],
      ['results', `/consultations/${SLUG_OPEN}/results`, [200]],
      ['results (closed consultation)', `/consultations/${SLUG_CLOSED}/results`, [200]],
    ];
    // The published results ("We asked, you said, we did") on the closed consultation's page, with its
    // earlier publications and open-data dictionary opened, so that axe sees every part.
    steps.push(['published results (We asked, you said, we did)', `/consultations/${SLUG_CLOSED}`, [200], { published: true }]);
    let first = true;
    for (const [label, path, ok, opts] of steps) {
      try {
        await gotoPage(page, cdp, label, path, ok, opts);
      } catch (err) {
        fail(label, err.message.split('\n')[0]);
        if (first) {
          // The very first page did not load at all: the server is not there.
          fail('setup', `server at ${BASE} not reachable, giving up`);
          stopWatchdog();
          code = report(browser.blocked);
          await browser.close();
          process.exit(code);
        }
      }
      if (first) {
        first = false;
        // Self-check: page timers must not fire while scripts are disabled.
        const fired = await Promise.race([
          page.evaluate(() => new Promise((r) => setTimeout(() => r(true), 0))).catch(() => false),
          new Promise((r) => setTimeout(() => r(false), 500)),
        ]);
        if (fired) fail('setup', 'JavaScript is still running with script execution disabled: the no-JS check is not valid');
      }
    }

    try {
      await context.clearCookies(); // a fresh response session
      await journey(page, cdp, SLUG_OPEN);
    } catch (err) {
      fail('journey', `${err.message.split('\n')[0]} (at ${relPath(BASE, page)})`);
    }

    const jsPage = await context.newPage();
    try {
      await context.clearCookies(); // a fresh response session, nothing prefilled
      await jsPass(jsPage, SLUG_OPEN);
    } catch (err) {
      fail('[js] pass', err.message.split('\n')[0]);
    }
    code = report(browser.blocked);
  } catch (err) {
    fail('setup', err.message.split('\n')[0]);
    code = report(browser ? browser.blocked : new Set());
  } finally {
    stopWatchdog();
    await browser?.close();
  }
  process.exit(code);
}

main();
