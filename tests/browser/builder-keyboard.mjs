#!/usr/bin/env node
// The builder with the keyboard alone, in a real browser (Debian's Chromium): an officer signs in, creates a
// consultation, adds a section and three questions (a single choice with its options, a long text and a short
// text), a route that shows the long text to those who answer "No", sets the dates, and publishes it — with
// Tab, Space, Enter, arrow keys and typing only (never a click, a fill or a focus() call), checking that every
// element that receives focus shows a visible focus indicator (keys.mjs).
//
//   node tests/browser/builder-keyboard.mjs <BASE_URL> <OFFICER_EMAIL> <OFFICER_PASSWORD>
//
// The account must be an officer or an admin of one organisation. Exit 0 and
// "builder-keyboard: published SLUG" on success, else 1.
import { die, navigateBy, parseBaseUrl, relPath } from './lib.mjs';
import { keyboardBase, prepare, runKeyboard, tabTo, typeInto } from './keys.mjs';

const PROG = 'builder-keyboard';
const TOTAL_TIMEOUT_MS = Number(process.env.HYS_BROWSER_TIMEOUT_S || 120) * 1000;

const args = process.argv.slice(2);
if (args.length !== 3) die(PROG, 'usage: node tests/browser/builder-keyboard.mjs <BASE_URL> <OFFICER_EMAIL> <OFFICER_PASSWORD>');
const BASE = parseBaseUrl(PROG, args[0]);
const [EMAIL, PASSWORD] = args.slice(1);
keyboardBase(BASE);

const named = (name) => (a) => a.name === name && a.type !== 'hidden';
const button = (text) => (a) => (a.tag === 'button' || (a.tag === 'input' && a.type === 'submit')) && a.text.startsWith(text);
const link = (href) => (a) => a.tag === 'a' && a.href === href;

/** Tab to a field and type into it. */
async function type(page, name, text) {
  await tabTo(page, named(name), `the field ${name}`);
  await typeInto(page, text);
}

/** Tab to a radio group and choose `value` with the arrow keys (Space when focus is already on it). */
async function choose(page, name, value) {
  let a = await tabTo(page, (x) => x.name === name && x.type === 'radio', `the radios ${name}`);
  for (let n = 0; a.value !== value; n++) {
    if (n > 20) throw new Error(`could not reach the ${name} radio ${value} with the arrow keys`);
    await page.keyboard.press('ArrowDown');
    a = await page.evaluate(() => window.__hysKb.active());
  }
  if (!a.checked) await page.keyboard.press('Space');
}

/** Tab to a checkbox and tick it with Space. */
async function tick(page, name, value) {
  const a = await tabTo(page, (x) => x.name === name && x.value === value, `the checkbox ${name} ${value}`);
  if (!a.checked) await page.keyboard.press('Space');
}

/** Tab to a link or button, press Enter, and expect the page it leads to to have no error. */
async function go(page, pred, what) {
  await tabTo(page, pred, what);
  const status = await navigateBy(page, () => page.keyboard.press('Enter'));
  if (status !== null && status >= 400) throw new Error(`${what} answered ${status} at ${relPath(BASE, page)}`);
  const summary = page.locator('.hys-error-summary');
  if (await summary.count()) throw new Error(`${what}: ${(await summary.first().innerText()).replace(/\s+/g, ' ').slice(0, 300)}`);
  await prepare(page);
  console.log(`ok   ${what} -> ${relPath(BASE, page)}`);
}

/** Adds a question of `kind` to the first section: `fill` types its fields on the question form. */
async function addQuestion(page, base, kind, fill) {
  await go(page, (a) => a.tag === 'a' && a.href.endsWith('/questions/new'), '"Add a question"');
  await choose(page, 'kind', kind);
  await go(page, button('Continue'), `the ${kind} kind`);
  await fill();
  await go(page, button('Save question'), `"Save question" (${kind})`);
  if (relPath(BASE, page) !== base) throw new Error(`saving the question led to ${relPath(BASE, page)}, not ${base}`);
}

async function build(page) {
  const response = await page.goto(BASE + '/officer/sign-in', { waitUntil: 'load' });
  if (!response || response.status() !== 200) throw new Error(`GET /officer/sign-in answered ${response?.status()}`);
  await prepare(page);
  await type(page, 'email', EMAIL);
  await type(page, 'password', PASSWORD);
  await go(page, button('Sign in'), '"Sign in"');

  await go(page, link('/officer/consultations/new'), '"Create a consultation"');
  await type(page, 'title', `Our parks, by keyboard ${Date.now()}`);
  await type(page, 'summary', 'Tell us how you use the parks.');
  await go(page, button('Create consultation'), '"Create consultation"');
  const base = relPath(BASE, page);
  const slug = base.split('/').pop();

  await go(page, link(`${base}/sections/new`), '"Add a section"');
  await type(page, 'title', 'Your views');
  await go(page, button('Save section'), '"Save section"');

  await addQuestion(page, base, 'single_choice', async () => {
    await type(page, 'prompt', 'Do you visit a park every week?');
    await choose(page, 'required', 'yes');
    await type(page, 'option_0_label', 'Yes');
    await type(page, 'option_1_label', 'No');
    await type(page, 'key', 'visit');
  });
  await addQuestion(page, base, 'long_text', async () => {
    await type(page, 'prompt', 'What would help you visit more often?');
    await choose(page, 'required', 'no');
    await type(page, 'key', 'help');
  });
  await addQuestion(page, base, 'short_text', async () => {
    await type(page, 'prompt', 'Which park is nearest to you?');
    await choose(page, 'required', 'no');
    await type(page, 'key', 'nearest');
  });

  await go(page, link(`${base}/routing`), '"Change the routing"');
  await go(page, link(`${base}/routing/new`), 'a new route');
  await choose(page, 'question', 'visit');
  await go(page, button('Continue'), 'the question the route depends on');
  await tick(page, 'answers', 'no');
  await choose(page, 'action', 'show');
  await choose(page, 'target', 'question:help');
  await go(page, button('Add route'), '"Add route"');
  if (relPath(BASE, page) !== base) await go(page, link(base), 'back to the consultation');

  await go(page, link(`${base}/schedule`), 'the schedule');
  const day = (d) => [String(d.getUTCDate()), String(d.getUTCMonth() + 1), String(d.getUTCFullYear())];
  const [od, om, oy] = day(new Date(Date.now() - 86_400_000));
  const [cd, cm, cy] = day(new Date(Date.now() + 100 * 86_400_000));
  for (const [name, value] of [['opens_day', od], ['opens_month', om], ['opens_year', oy], ['opens_time', '9am'], ['closes_day', cd], ['closes_month', cm], ['closes_year', cy], ['closes_time', '11:59pm']]) {
    await type(page, name, value);
  }
  await choose(page, 'visibility', 'public');
  await go(page, button('Save'), '"Save" (schedule)');

  await go(page, link(`${base}/publish`), '"Publish the consultation"');
  await go(page, (a) => a.tag === 'button' && a.id === 'publish', '"Publish"');
  if (relPath(BASE, page) !== base) throw new Error(`publishing led to ${relPath(BASE, page)}, not ${base}`);
  return slug;
}

runKeyboard(PROG, TOTAL_TIMEOUT_MS, build, (slug) => `published ${slug}`);
