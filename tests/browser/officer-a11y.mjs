#!/usr/bin/env node
// Accessibility check of the officers' workspace in a real browser (Debian's Chromium) with axe-core (WCAG
// 2.0/2.1/2.2 A and AA rules): the sign-in page blank, with errors and throttled; the officers' home; the
// account page, with errors, with a token just made, and the revoke confirmation; every admin page blank and
// with errors; the results dashboard of the demo IRMP consultation, its cross-tab (and a wrong one), the
// printed report and the written answers' reader, each also reloaded at 320 CSS px wide, where it must not
// scroll sideways.
//
//   node tests/browser/officer-a11y.mjs <BASE_URL> <ADMIN_EMAIL> <ADMIN_PASSWORD>
//
// The account must be an admin. Pages are loaded with JavaScript off, as a11y.mjs does (scripts run only
// while axe does); a few are checked again with it on. Exit 0 when every page has no violation and every step
// worked, else 1.
import { errorSummary } from './form.mjs';
import { die, launch, navigateBy, parseBaseUrl, printViolations, reflowProblem, relPath, runAxe, screenshot, setScripts, startWatchdog } from './lib.mjs';

const PROG = 'officer-a11y';
const TOTAL_TIMEOUT_MS = Number(process.env.HYS_BROWSER_TIMEOUT_S || 120) * 1000;
// Optional: a directory to save a full-page screenshot of every checked page/state.
const SHOTS_DIR = process.env.HYS_BROWSER_SCREENSHOTS || '';
const args = process.argv.slice(2);
if (args.length !== 3) die(PROG, 'usage: node tests/browser/officer-a11y.mjs <BASE_URL> <ADMIN_EMAIL> <ADMIN_PASSWORD>');
const BASE = parseBaseUrl(PROG, args[0]);
const [EMAIL, PASSWORD] = args.slice(1);

const checked = [];
const failures = [];

function fail(label, message) {
  failures.push({ label, message });
  console.log(`FAIL ${label}: ${message}`);
}

/** axe on the current page, which should have answered `status`; with errors expected, the summary too. */
async function check(page, cdp, label, { status = null, errors = false } = {}, answered = null) {
  if (status !== null && answered !== null && answered !== status) fail(label, `answered ${answered}, expected ${status}`);
  const summary = await errorSummary(page);
  if (errors && !summary.present) fail(label, 'no error summary');
  if (!errors && summary.present) fail(label, `an unexpected error summary: ${summary.text.slice(0, 200)}`);
  if (summary.brokenLinks.length) fail(label, `error summary links to missing ids: ${summary.brokenLinks.join(', ')}`);
  const violations = await runAxe(page, cdp);
  const url = relPath(BASE, page) + new URL(page.url()).search;
  checked.push({ label, url, violations });
  await screenshot(SHOTS_DIR, checked.length, label, page);
  console.log(`${violations.length ? 'FAIL' : 'ok  '} ${label} ${url}`);
}

async function visit(page, cdp, label, path, expect = {}) {
  const response = await page.goto(BASE + path, { waitUntil: 'load' });
  await check(page, cdp, label, { status: 200, ...expect }, response ? response.status() : null);
}

/** Fill fields ({selector: value}), press the button named `button`, and check the page it leads to. */
async function submit(page, cdp, label, button, fields, expect) {
  for (const [selector, value] of Object.entries(fields)) await page.fill(selector, value);
  const status = await navigateBy(page, () => page.getByRole('button', { name: button, exact: true }).first().click());
  await check(page, cdp, label, expect, status);
}

async function steps(page, cdp) {
  // Signing in.
  await visit(page, cdp, 'sign-in (blank)', '/officer/sign-in');
  await submit(page, cdp, 'sign-in with nothing entered', 'Sign in', {}, { status: 422, errors: true });
  await submit(page, cdp, 'sign-in with a wrong password', 'Sign in', { '#email': EMAIL, '#password': 'not the password' }, { status: 422, errors: true });
  for (let n = 0; n < 4; n++) {
    await page.fill('#email', 'someone.else@example.org');
    await page.fill('#password', 'a wrong guess');
    await navigateBy(page, () => page.getByRole('button', { name: 'Sign in', exact: true }).click());
  }
  await submit(page, cdp, 'sign-in (throttled)', 'Sign in', { '#email': 'someone.else@example.org', '#password': 'a wrong guess' }, { status: 429 });
  await page.goto(BASE + '/officer/sign-in', { waitUntil: 'load' });
  await submit(page, cdp, 'officers’ home', 'Sign in', { '#email': EMAIL, '#password': PASSWORD }, { status: 200 });
  if (relPath(BASE, page) !== '/officer') fail('sign in', `signing in led to ${relPath(BASE, page)}, not /officer`);

  // The account page.
  await visit(page, cdp, 'account', '/officer/account');
  await submit(page, cdp, 'account: password with nothing entered', 'Change password', {}, { status: 422, errors: true });
  await submit(page, cdp, 'account: a weak new password', 'Change password', { '#current-password': PASSWORD, '#new-password': 'password1234', '#confirm-password': 'password1234' }, { status: 422, errors: true });
  await submit(page, cdp, 'account: token with no label', 'Make token', { '#label': '' }, { status: 422, errors: true });
  await submit(page, cdp, 'account: token shown once', 'Make token', { '#label': 'Browser test' }, { status: 200 });
  if (!/hys_[0-9a-f]{64}/.test(await page.locator('#token').innerText())) fail('token shown once', 'no token on the page');
  await page.goto(BASE + '/officer/account', { waitUntil: 'load' });
  const revoke = page.locator('a', { hasText: 'Revoke' }).first();
  const answered = await navigateBy(page, () => revoke.click());
  await check(page, cdp, 'account: revoke a token (confirm)', { status: 200 }, answered);
  await submit(page, cdp, 'account: token revoked', 'Revoke token', {}, { status: 200 });

  // Admin: users.
  await visit(page, cdp, 'admin: users', '/officer/admin/users');
  await visit(page, cdp, 'admin: add a user', '/officer/admin/users/new');
  await submit(page, cdp, 'admin: add a user with nothing entered', 'Add user', {}, { status: 422, errors: true });
  await submit(page, cdp, 'admin: add a user without an organisation', 'Add user', { '#name': 'Kim Officer', '#email': 'kim@example.org', '#password': 'a long enough password' }, { status: 422, errors: true });
  await page.goto(BASE + '/officer/admin/users', { waitUntil: 'load' });
  const first = page.locator('table a[href^="/officer/admin/users/"]').first();
  const shown = await navigateBy(page, () => first.click());
  await check(page, cdp, 'admin: a user', { status: 200 }, shown);
  const userPath = relPath(BASE, page);
  await submit(page, cdp, 'admin: a user with no name', 'Save details', { '#name': ' ' }, { status: 422, errors: true });
  await page.goto(BASE + userPath, { waitUntil: 'load' });
  await submit(page, cdp, 'admin: a user with a short password', 'Set password', { '#new-password': 'short' }, { status: 422, errors: true });

  // Admin: organisations, the audit log, settings.
  await visit(page, cdp, 'admin: organisations', '/officer/admin/organisations');
  await submit(page, cdp, 'admin: organisation with no name', 'Add organisation', {}, { status: 422, errors: true });
  await visit(page, cdp, 'admin: audit log', '/officer/admin/audit');
  await visit(page, cdp, 'admin: audit log filtered', '/officer/admin/audit?action=sign_in');
  await visit(page, cdp, 'admin: audit log with a wrong date', '/officer/admin/audit?from-day=31&from-month=2&from-year=2027', { status: 422, errors: true });
  await visit(page, cdp, 'admin: settings', '/officer/admin/settings');
  await submit(page, cdp, 'admin: settings with a wrong length', 'Save', { '#minimum-weeks': 'twelve' }, { status: 422, errors: true });
  await page.goto(BASE + '/officer/admin/settings', { waitUntil: 'load' });
  await submit(page, cdp, 'admin: pre-election period with nothing entered', 'Add period', {}, { status: 422, errors: true });
  await submit(page, cdp, 'admin: pre-election period added', 'Add period', { '#period-name': 'County elections', '#starts-day': '25', '#starts-month': '3', '#starts-year': '2027', '#ends-day': '6', '#ends-month': '5', '#ends-year': '2027' }, { status: 200 });
}

const SLUG = 'irmp-2027';

/** The results pages, each checked and then reloaded at 320 px wide. */
async function results(page, cdp) {
  const dashboard = `/officer/consultations/${SLUG}/results`;
  for (const [label, path, expect] of [
    ['results dashboard', dashboard, {}],
    ['results cross-tab by age band', `${dashboard}?by=age_band`, {}],
    ['results cross-tab by channel', `${dashboard}?by=channel`, {}],
    ['results cross-tab by a wrong question', `${dashboard}?by=no_such_question`, { status: 422, errors: true }],
    ['results report', `${dashboard}/report`, {}],
  ]) {
    await visit(page, cdp, label, path, expect);
    const problem = await reflowProblem(page);
    if (problem) fail(label, problem);
  }
  await page.goto(BASE + dashboard, { waitUntil: 'load' });
  const reader = page.locator('a[href*="/results/answers/"]').first();
  if ((await reader.count()) === 0) return fail('written answers', 'no link to the written answers on the dashboard');
  const answered = await navigateBy(page, () => reader.click());
  await check(page, cdp, 'results: written answers', { status: 200 }, answered);
  const problem = await reflowProblem(page);
  if (problem) fail('results: written answers', problem);
}

async function withScripts(page) {
  for (const [label, path] of [['[js] officers’ home', '/officer'], ['[js] account', '/officer/account'], ['[js] admin: users', '/officer/admin/users'], ['[js] results dashboard (live)', `/officer/consultations/${SLUG}/results?by=district`]]) {
    await visit(page, null, label, path);
  }
}

async function main() {
  let browser;
  const report = () => {
    const violations = printViolations(checked);
    if (failures.length) {
      console.log('\nStep failures:');
      for (const f of failures) console.log(`  [${f.label}] ${f.message}`);
    }
    const summary = `${PROG}: ${checked.length} pages checked, ${violations} violations`;
    console.log(violations || failures.length ? `\n${summary}, ${failures.length} step failures: FAILED` : `\n${summary}`);
    return violations || failures.length ? 1 : 0;
  };
  const stopWatchdog = startWatchdog(PROG, TOTAL_TIMEOUT_MS, () => {
    failures.push({ label: 'timeout', message: `overall timeout of ${TOTAL_TIMEOUT_MS / 1000} s exceeded` });
    report();
  });
  let code = 1;
  try {
    browser = await launch({ javaScriptEnabled: true });
    const { context, page } = browser;
    const cdp = await context.newCDPSession(page);
    await setScripts(cdp, false);
    try {
      await steps(page, cdp);
    } catch (err) {
      fail('steps', `${err.message.split('\n')[0]} (at ${relPath(BASE, page)})`);
    }
    try {
      await results(page, cdp);
    } catch (err) {
      fail('results', `${err.message.split('\n')[0]} (at ${relPath(BASE, page)})`);
    }
    try {
      await withScripts(await context.newPage());
    } catch (err) {
      fail('[js] pass', err.message.split('\n')[0]);
    }
    code = report();
  } catch (err) {
    fail('setup', err.message.split('\n')[0]);
    code = report();
  } finally {
    stopWatchdog();
    await browser?.close();
  }
  process.exit(code);
}

main();
