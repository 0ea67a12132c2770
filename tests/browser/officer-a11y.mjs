#!/usr/bin/env node
// Accessibility check of the officers' workspace in a real browser (Debian's Chromium) with axe-core (WCAG
// 2.0/2.1/2.2 A and AA rules): the sign-in page blank, with errors and throttled; the officers' home; the
// account page, with errors, with a token just made, and the revoke confirmation; every admin page blank and
// with errors; every page of the builder, blank and in its forms' error states (see `builder`); a consultation's
// downloads page; publishing results, blank, with an error and previewed; the results dashboard of the demo IRMP
// consultation, its cross-tabs (and a wrong one), the printed report and the written answers' reader. Every page
// must answer the status expected of it.
//
//   node tests/browser/officer-a11y.mjs <BASE_URL> <ADMIN_EMAIL> <ADMIN_PASSWORD>
//
// The account must be an admin. Pages are loaded with JavaScript off, as a11y.mjs does (scripts run only
// while axe does); a few are checked again with it on. Exit 0 when every page has no violation and every step
// worked, else 1.
import { errorSummary } from './form.mjs';
import { die, launch, layoutProblems, navigateBy, parseBaseUrl, printViolations, relPath, runAxe, screenshot, setScripts, startWatchdog } from './lib.mjs';

const PROG = 'officer-a11y';
const TOTAL_TIMEOUT_MS = Number(process.env.HYS_BROWSER_TIMEOUT_S || 120) * 1000;
// Optional: a directory to save a full-page screenshot of every checked page/state.
const SHOTS_DIR = process.env.HYS_BROWSER_SCREENSHOTS || '';
const args = process.argv.slice(2);
if (args.length !== 3) die(PROG, 'usage: node tests/browser/officer-a11y.mjs <BASE_URL> <ADMIN_EMAIL> <ADMIN_PASSWORD>');
const BASE = parseBaseUrl(PROG, args[0]);
const [EMAIL, PASSWORD] = args.slice(1);
// The demo's open and closed consultations.
const OPEN = 'irmp-2027';
const CLOSED = 'library-opening-hours-2026';

const checked = [];
const failures = [];

function fail(label, message) {
  failures.push({ label, message });
  console.log(`FAIL ${label}: ${message}`);
}

/** axe on the current page, which should have answered `status`; with errors expected, the summary too. */
async function check(page, cdp, label, { status = null, errors = false } = {}, answered = null) {
  if (status !== null && answered !== status) fail(label, `answered ${answered}, expected ${status}`);
  const summary = await errorSummary(page);
  if (errors && !summary.present) fail(label, 'no error summary');
  if (!errors && summary.present) fail(label, `an unexpected error summary: ${summary.text.slice(0, 200)}`);
  if (summary.brokenLinks.length) fail(label, `error summary links to missing ids: ${summary.brokenLinks.join(', ')}`);
  for (const problem of await layoutProblems(page)) fail(label, problem);
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

/**
 * Fill fields ({selector: value}; `true` ticks the first radio or checkbox the selector finds), press the button
 * named `button`, and check the page it leads to.
 */
async function submit(page, cdp, label, button, fields, expect) {
  for (const [selector, value] of Object.entries(fields)) {
    if (value === true) await page.locator(selector).first().check();
    else await page.fill(selector, value);
  }
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

  // A consultation's responses and downloads, and publishing a closed one's results (blank, with an error,
  // previewed). Nothing is published: the demo keeps its one publication.
  await visit(page, cdp, 'responses: downloads', `/officer/consultations/${OPEN}/responses`);
  const publishResults = `/officer/consultations/${CLOSED}/results/publish`;
  await visit(page, cdp, 'results: publish again', publishResults);
  await submit(page, cdp, 'results: publish with nothing entered', 'Publish the results', { '#f-outcome': '' }, { status: 422, errors: true });
  await submit(page, cdp, 'results: preview', 'Preview', { '#f-outcome': '## We decided\n\n- to keep the hours' }, { status: 200 });
}

const named = (name, value) => (value === undefined ? `[name="${name}"]` : `[name="${name}"][value="${value}"]`);

/**
 * The builder, as an admin uses it: every page blank and each form's error state — a new consultation, its
 * details and background preview, schedule, sections, the kind chooser and every kind's question form, a
 * question's edit form, delete confirmations, routing (list, choosing a question, a refused route), publishing
 * refused, preview pages, lifecycle forms, duplicate, import, and paper entry.
 */
async function builder(page, cdp) {
  await visit(page, cdp, 'builder: new consultation', '/officer/consultations/new');
  await submit(page, cdp, 'builder: new consultation with nothing entered', 'Create consultation', {}, { status: 422, errors: true });
  await submit(page, cdp, 'builder: overview of a new consultation', 'Create consultation', { [named('title')]: 'Our parks and open spaces', [named('summary')]: 'Tell us how you use the parks.', [named('organisation')]: true }, { status: 200 });
  const base = relPath(BASE, page);
  if (!base.startsWith('/officer/consultations/')) throw new Error(`creating a consultation led to ${base}`);

  await visit(page, cdp, 'builder: details', `${base}/details`);
  await submit(page, cdp, 'builder: details with no title', 'Save', { [named('title')]: '' }, { status: 422, errors: true });
  await page.goto(BASE + `${base}/details`, { waitUntil: 'load' });
  await submit(page, cdp, 'builder: background preview', 'Preview the background', { [named('body')]: '## Why we ask\n\nWe want to **know**.' }, { status: 200 });
  await visit(page, cdp, 'builder: schedule', `${base}/schedule`);
  await submit(page, cdp, 'builder: schedule with an impossible date', 'Save', { [named('opens_day')]: '31', [named('opens_month')]: '2', [named('opens_year')]: '2027' }, { status: 422, errors: true });

  await visit(page, cdp, 'builder: new section', `${base}/sections/new`);
  await submit(page, cdp, 'builder: new section with nothing entered', 'Save section', {}, { status: 422, errors: true });
  await submit(page, cdp, 'builder: overview with a section', 'Save section', { [named('title')]: 'Your views', [named('key')]: 'views' }, { status: 200 });
  const section = `${base}/sections/views`;
  await visit(page, cdp, 'builder: a section', section);
  await submit(page, cdp, 'builder: a section with no title', 'Save section', { [named('title')]: '' }, { status: 422, errors: true });
  await visit(page, cdp, 'builder: choose a question kind', `${section}/questions/new`);
  await submit(page, cdp, 'builder: choose a question kind with nothing chosen', 'Continue', {}, { status: 422, errors: true });
  for (const kind of ['single_choice', 'multiple_choice', 'scale', 'short_text', 'long_text', 'number', 'date', 'ranking', 'grid']) {
    await visit(page, cdp, `builder: new ${kind} question`, `${section}/questions/new?kind=${kind}`);
    await submit(page, cdp, `builder: new ${kind} question with nothing entered`, 'Save question', {}, { status: 422, errors: true });
  }
  await visit(page, cdp, 'builder: new single_choice question again', `${section}/questions/new?kind=single_choice`);
  await submit(page, cdp, 'builder: overview with a question', 'Save question', { [named('prompt')]: 'Do you visit a park every week?', [named('required', 'yes')]: true, [named('key')]: 'visit', [named('option_0_label')]: 'Yes', [named('option_1_label')]: 'No' }, { status: 200 });
  await page.goto(BASE + `${section}/questions/new?kind=long_text`, { waitUntil: 'load' });
  await submit(page, cdp, 'builder: overview with two questions', 'Save question', { [named('prompt')]: 'What would make the parks better?', [named('required', 'no')]: true, [named('key')]: 'better' }, { status: 200 });
  await visit(page, cdp, 'builder: a question', `${base}/questions/visit`);
  await submit(page, cdp, 'builder: a question with no prompt', 'Save question', { [named('prompt')]: '' }, { status: 422, errors: true });
  await visit(page, cdp, 'builder: delete a question (confirm)', `${base}/questions/visit/delete`);
  await visit(page, cdp, 'builder: delete a section (confirm)', `${section}/delete`);

  await visit(page, cdp, 'builder: routing', `${base}/routing`);
  await visit(page, cdp, 'builder: new route', `${base}/routing/new`);
  await visit(page, cdp, 'builder: new route on a question', `${base}/routing/new?question=visit`);
  await submit(page, cdp, 'builder: a route with no answer or target chosen', 'Add route', {}, { status: 422, errors: true });
  const route = { [named('answers', 'no')]: true, [named('action', 'show')]: true, [named('target', 'question:better')]: true };
  await submit(page, cdp, 'builder: routing with a route', 'Add route', route, { status: 200 });
  await page.goto(BASE + `${base}/routing/new?question=visit`, { waitUntil: 'load' });
  await submit(page, cdp, 'builder: a route refused (it exists already)', 'Add route', route, { status: 422, errors: true });

  // A question of every kind, and its edit form.
  const options = { [named('option_0_label')]: 'First', [named('option_1_label')]: 'Second' };
  for (const [kind, extra] of [['multiple_choice', options], ['scale', {}], ['short_text', {}], ['number', {}], ['date', {}], ['ranking', options], ['grid', { [named('row_0_label')]: 'Parks', [named('row_1_label')]: 'Play areas' }]]) {
    await page.goto(BASE + `${section}/questions/new?kind=${kind}`, { waitUntil: 'load' });
    const fields = { [named('prompt')]: `A ${kind} question`, [named('required', 'no')]: true, [named('key')]: `a_${kind}`, ...extra };
    await submit(page, cdp, `builder: overview with a ${kind} question`, 'Save question', fields, { status: 200 });
    await visit(page, cdp, `builder: a ${kind} question`, `${base}/questions/a_${kind}`);
  }

  await visit(page, cdp, 'builder: preview', `${base}/preview`);
  await visit(page, cdp, 'builder: a preview page', `${base}/preview/views`);
  await submit(page, cdp, 'builder: a preview page with nothing entered', 'Continue', {}, { status: 422, errors: true });
  await visit(page, cdp, 'builder: duplicate', `${base}/duplicate`);
  await submit(page, cdp, 'builder: duplicate with no title', 'Duplicate', { [named('title')]: '' }, { status: 422, errors: true });
  await visit(page, cdp, 'builder: delete a draft (confirm)', `${base}/lifecycle/delete`);

  // Scheduled for next year and published: opening early, then a draft of the published version to discard.
  const next = String(new Date().getUTCFullYear() + 1);
  await page.goto(BASE + `${base}/schedule`, { waitUntil: 'load' });
  const dates = { opens_day: '5', opens_month: '1', opens_year: next, opens_time: '9am', closes_day: '5', closes_month: '6', closes_year: next, closes_time: '9am' };
  const schedule = Object.fromEntries(Object.entries(dates).map(([name, value]) => [named(name), value]));
  await submit(page, cdp, 'builder: overview with dates', 'Save', { ...schedule, [named('visibility', 'public')]: true }, { status: 200 });
  await visit(page, cdp, 'builder: publish with warnings', `${base}/publish`);
  await submit(page, cdp, 'builder: overview when scheduled', 'Publish', {}, { status: 200 });
  await visit(page, cdp, 'builder: open early (confirm)', `${base}/lifecycle/open`);
  await page.goto(BASE + `${base}/details`, { waitUntil: 'load' });
  await submit(page, cdp, 'builder: overview with unpublished changes', 'Save', { [named('title')]: 'Our parks and open spaces (changed)' }, { status: 200 });
  await visit(page, cdp, 'builder: discard the changes (confirm)', `${base}/lifecycle/discard-draft`);

  // Publishing refused: a consultation with no dates and no questions.
  await page.goto(BASE + '/officer/consultations/new', { waitUntil: 'load' });
  await submit(page, cdp, 'builder: overview of an empty consultation', 'Create consultation', { [named('title')]: 'Nothing yet', [named('summary')]: 'Still being written.', [named('organisation')]: true }, { status: 200 });
  const empty = relPath(BASE, page);
  await visit(page, cdp, 'builder: publish', `${empty}/publish`);
  await submit(page, cdp, 'builder: publish refused with problems', 'Publish', {}, { status: 422, errors: true });

  // The demo's open and closed consultations: lifecycle forms and paper entry.
  await visit(page, cdp, 'builder: close early (confirm)', `/officer/consultations/${OPEN}/lifecycle/close`);
  await visit(page, cdp, 'builder: extend', `/officer/consultations/${OPEN}/lifecycle/extend`);
  await submit(page, cdp, 'builder: extend with an impossible date', 'Extend', { [named('closes_day')]: '31', [named('closes_month')]: '2', [named('closes_year')]: '2030' }, { status: 422, errors: true });
  await visit(page, cdp, 'builder: archive (confirm)', `/officer/consultations/${CLOSED}/lifecycle/archive`);
  await visit(page, cdp, 'builder: paper entry', `/officer/consultations/${OPEN}/paper`);
  await submit(page, cdp, 'builder: paper entry with nothing entered', 'Save and key in the next', {}, { status: 422, errors: true });

  await visit(page, cdp, 'builder: import', '/officer/import');
  await submit(page, cdp, 'builder: import with errors', 'Import', { [named('definition')]: '{"slug": "Not a slug", "title": ""}' }, { status: 422, errors: true });
}

/** The results pages (each checked at 320 and 640 px wide too, as every page is). */
async function results(page, cdp) {
  const dashboard = `/officer/consultations/${OPEN}/results`;
  for (const [label, path, expect] of [
    ['results dashboard', dashboard, {}],
    ['results cross-tab by age band', `${dashboard}?by=age_band`, {}],
    ['results cross-tab by channel', `${dashboard}?by=channel`, {}],
    ['results cross-tab by a wrong question', `${dashboard}?by=no_such_question`, { status: 422, errors: true }],
    ['results report', `${dashboard}/report`, {}],
  ]) {
    await visit(page, cdp, label, path, expect);
  }
  await page.goto(BASE + dashboard, { waitUntil: 'load' });
  const reader = page.locator('a[href*="/results/answers/"]').first();
  if ((await reader.count()) === 0) return fail('written answers', 'no link to the written answers on the dashboard');
  const answered = await navigateBy(page, () => reader.click());
  await check(page, cdp, 'results: written answers', { status: 200 }, answered);
}

async function withScripts(page) {
  for (const [label, path] of [['[js] officers’ home', '/officer'], ['[js] account', '/officer/account'], ['[js] admin: users', '/officer/admin/users'], ['[js] results dashboard (live)', `/officer/consultations/${OPEN}/results?by=district`]]) {
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
      await builder(page, cdp);
    } catch (err) {
      fail('builder', `${err.message.split('\n')[0]} (at ${relPath(BASE, page)})`);
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
