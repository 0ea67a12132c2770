#!/usr/bin/env node
// Keyboard-only journey through a consultation in a real browser (Debian's
// Chromium): Tab / Shift+Tab / Space / Enter / arrow keys / typing only, never
// a mouse click or a programmatic fill. page.evaluate is used only to LOOK at
// the focused element (and its styles).
//
//   node tests/browser/keyboard.mjs <BASE_URL> <SLUG_OPEN>
//
// Also checks that every element that receives focus shows a visible focus
// indicator (outline, or a changed box-shadow / background / border / text
// decoration on the element, its ::before/::after, or its <label>s).
// Exit 0 and "keyboard: journey completed, reference XYZ" on success, else 1.
import {
  MAX_JOURNEY_PAGES,
  confirmationReference,
  die,
  extractReference,
  navigateBy,
  parseBaseUrl,
  relPath,
} from './lib.mjs';
import { MAX_TABS_PER_PAGE, keyboardBase, prepare, runKeyboard, tab, tabTo, typeInto } from './keys.mjs';

const PROG = 'keyboard';
const TOTAL_TIMEOUT_MS = Number(process.env.HYS_BROWSER_TIMEOUT_S || 120) * 1000;
const VALID_TEXT = 'Test answer';

const args = process.argv.slice(2);
if (args.length !== 2) die(PROG, 'usage: node tests/browser/keyboard.mjs <BASE_URL> <SLUG_OPEN>');
const BASE = parseBaseUrl(PROG, args[0]);
const SLUG = encodeURIComponent(args[1]);
const RESPOND = `/consultations/${SLUG}/respond`;
keyboardBase(BASE);

class JourneyError extends Error {}

function validNumber(g) {
  if (g.min !== null && g.min !== '' && !Number.isNaN(Number(g.min))) return String(g.min);
  if (g.max !== null && g.max !== '' && Number(g.max) < 1) return String(g.max);
  return '1';
}

// ---------------------------------------------------------------- journey

const isContinue = (a) => (a.tag === 'button' || (a.tag === 'input' && a.type === 'submit')) && /Continue/.test(a.text);

async function answerQuestionPage(page, key) {
  await prepare(page);
  const groups = await page.evaluate(() => window.__hysKb.groups());
  if (groups.length === 0) throw new JourneyError(`question page ${relPath(BASE, page)} has no .hys-form-group[data-question-key]`);
  const answered = new Set();
  const needOther = new Set();
  const done = {}; // per group: number of sub-fields handled (date parts, ranking selects)

  for (let i = 0; ; i++) {
    if (i >= MAX_TABS_PER_PAGE) throw new JourneyError(`never reached Continue on section ${key} after ${MAX_TABS_PER_PAGE} Tab presses`);
    const a = await tab(page);
    if (isContinue(a)) break;
    const g = a.group;
    if (!g) continue;
    const k = g.key;
    if (a.name === `q.${k}.other`) {
      if (needOther.has(k)) await typeInto(page, VALID_TEXT);
      continue;
    }
    if (a.tag === 'input' && a.type === 'radio' && a.name === `q.${k}`) {
      if (!answered.has(k)) {
        await page.keyboard.press('Space');
        if (a.other) needOther.add(k);
        answered.add(k);
      }
    } else if (a.tag === 'input' && a.type === 'checkbox' && a.name === `q.${k}`) {
      if (!answered.has(k) && !a.exclusive) {
        if (!a.checked) await page.keyboard.press('Space');
        if (a.other) needOther.add(k);
        done[k] = (done[k] || 0) + 1;
        if (done[k] >= Math.max(1, g.minSelections || 1)) answered.add(k);
      }
    } else if (a.tag === 'textarea' || (a.tag === 'input' && ['', 'text', 'search', 'email', 'tel', 'number'].includes(a.type))) {
      if (g.kind === 'date') {
        const part = a.name.slice(`q.${k}.`.length);
        const v = { day: '1', month: '6', year: '1980' }[part];
        if (v === undefined) continue;
        await typeInto(page, v);
        done[k] = (done[k] || 0) + 1;
        if (done[k] === 3) answered.add(k);
      } else if (a.name === `q.${k}`) {
        if (g.kind === 'number' || a.inputmode === 'numeric') await typeInto(page, validNumber(g));
        else await typeInto(page, g.maxLength ? VALID_TEXT.slice(0, g.maxLength) : VALID_TEXT);
        answered.add(k);
      }
    } else if (a.tag === 'select' && a.name.startsWith(`q.${k}.`)) {
      const want = String(a.rankIndex + 1);
      const target = a.optionValues.indexOf(want);
      if (target < 0) throw new JourneyError(`ranking ${a.name}: no option "${want}"`);
      const delta = target - a.selectedIndex;
      for (let n = 0; n < Math.abs(delta); n++) await page.keyboard.press(delta > 0 ? 'ArrowDown' : 'ArrowUp');
      let now = await page.evaluate(() => document.activeElement.value);
      if (now !== want) {
        await page.keyboard.type(want); // type-ahead fallback
        now = await page.evaluate(() => document.activeElement.value);
      }
      if (now !== want) throw new JourneyError(`ranking ${a.name}: could not choose ${want} with the keyboard (value is "${now}")`);
      done[k] = (done[k] || 0) + 1;
      answered.add(k);
    }
  }
  const missing = groups.filter((g) => !answered.has(g.key)).map((g) => `${g.key} (${g.kind})`);
  if (missing.length) throw new JourneyError(`section ${key}: could not answer with the keyboard before reaching Continue: ${missing.join(', ')}`);
  const status = await navigateBy(page, () => page.keyboard.press('Enter'));
  if (status !== null && status >= 400) throw new JourneyError(`section ${key}: Continue answered ${status}`);
  const err = await page.locator('.hys-error-summary').count();
  if (err) {
    const text = (await page.locator('.hys-error-summary').first().innerText()).replace(/\s+/g, ' ').trim();
    throw new JourneyError(`section ${key}: answers rejected: ${text.slice(0, 300)}`);
  }
  console.log(`ok   section ${key}: ${groups.length} question${groups.length === 1 ? '' : 's'} answered`);
}

function journeyState(page) {
  const p = relPath(BASE, page).replace(/\/+$/, '');
  if (p === `${RESPOND}/check`) return { kind: 'check' };
  const rest = p.startsWith(`${RESPOND}/`) ? p.slice(RESPOND.length + 1) : null;
  if (rest && !rest.includes('/')) return { kind: 'question', key: decodeURIComponent(rest) };
  return { kind: 'other', path: p };
}

async function journey(page) {
  const start = `/consultations/${SLUG}`;
  const resp = await page.goto(BASE + start, { waitUntil: 'load' });
  if (!resp || resp.status() !== 200) throw new JourneyError(`GET ${start} returned ${resp ? resp.status() : 'none'}`);
  await prepare(page);
  await tabTo(page, (a) => a.tag === 'a' && /(^|\s)hys-button--start(\s|$)/.test(a.className), 'the "Start now" link (a.hys-button--start)');
  await navigateBy(page, () => page.keyboard.press('Enter'));
  console.log(`ok   Start now -> ${relPath(BASE, page)}`);

  let st = journeyState(page);
  if (st.kind !== 'question') throw new JourneyError(`"Start now" led to ${relPath(BASE, page)}, not a question page`);
  for (let pages = 0; st.kind === 'question'; pages++) {
    if (pages >= MAX_JOURNEY_PAGES) throw new JourneyError(`more than ${MAX_JOURNEY_PAGES} question pages without reaching ${RESPOND}/check`);
    await answerQuestionPage(page, st.key);
    st = journeyState(page);
  }
  if (st.kind !== 'check') throw new JourneyError(`expected ${RESPOND}/check, got ${st.path}`);

  await prepare(page);
  await tabTo(
    page,
    (a) => (a.tag === 'button' || (a.tag === 'input' && a.type === 'submit')) && /Submit response/.test(a.text),
    'the "Submit response" button',
  );
  const status = await navigateBy(page, () => page.keyboard.press('Enter'));
  if (status !== null && status >= 400) throw new JourneyError(`Submit response answered ${status}`);
  console.log(`ok   check your answers -> ${relPath(BASE, page)}`);

  // Tab once on the confirmation page too, so its focus styles are checked.
  await prepare(page);
  await tab(page);
  const panel = await confirmationReference(page);
  if (!panel) throw new JourneyError(`no reference on the confirmation page ${relPath(BASE, page)} (.hys-panel__body missing or empty)`);
  return extractReference(panel);
}

runKeyboard(PROG, TOTAL_TIMEOUT_MS, journey, (reference) => `journey completed, reference ${reference}`);
