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
  launch,
  navigateBy,
  parseBaseUrl,
  relPath,
  startWatchdog,
} from './lib.mjs';

const PROG = 'keyboard';
const TOTAL_TIMEOUT_MS = Number(process.env.HYS_BROWSER_TIMEOUT_S || 120) * 1000;
const MAX_TABS_PER_PAGE = 200;
const VALID_TEXT = 'Test answer';
const DEBUG = !!process.env.HYS_KEYBOARD_DEBUG; // print every focus stop

const args = process.argv.slice(2);
if (args.length !== 2) die(PROG, 'usage: node tests/browser/keyboard.mjs <BASE_URL> <SLUG_OPEN>');
const BASE = parseBaseUrl(PROG, args[0]);
const SLUG = encodeURIComponent(args[1]);
const RESPOND = `/consultations/${SLUG}/respond`;

class JourneyError extends Error {}

/** Unique focus-indicator failures: description -> page path. */
const focusFailures = new Map();
let focusChecks = 0;

// ---------------------------------------------------------------- in-page inspection

/**
 * Installed into every page (before focus moves): records the unfocused style
 * signature of every focusable element, and describes the active element.
 */
const PAGE_HELPERS = () => {
  if (window.__hysKb) return;
  const PROPS = [
    'outlineStyle', 'outlineWidth', 'outlineColor', 'boxShadow', 'backgroundColor', 'backgroundImage',
    'borderTopColor', 'borderBottomColor', 'borderLeftColor', 'borderRightColor', 'borderBottomWidth',
    'textDecorationLine', 'textDecorationColor', 'textDecorationThickness', 'color',
  ];
  const sig = (el, pseudo) => {
    const cs = getComputedStyle(el, pseudo);
    const o = {};
    for (const p of PROPS) o[p] = cs[p];
    return o;
  };
  const parts = (el) => {
    const list = [['self', el, null], ['self::before', el, '::before'], ['self::after', el, '::after']];
    (el.labels ? Array.from(el.labels) : []).forEach((l, i) => {
      list.push([`label${i}`, l, null], [`label${i}::before`, l, '::before'], [`label${i}::after`, l, '::after']);
    });
    return list;
  };
  const snapshot = (el) => Object.fromEntries(parts(el).map(([name, node, pseudo]) => [name, sig(node, pseudo)]));
  const baseline = new WeakMap();
  const focusable = 'a[href], button, input:not([type=hidden]), select, textarea, [tabindex], summary';
  for (const el of document.querySelectorAll(focusable)) baseline.set(el, snapshot(el));
  // Not (yet) in the data-* contract: data-min-selections, else the hint text.
  const minSelections = (g) => {
    if (g.dataset.minSelections) return Number(g.dataset.minSelections);
    const hint = Array.from(g.querySelectorAll('.hys-hint')).map((h) => h.textContent).join(' ');
    const m = /Select (?:exactly|between|at least) (\d+)/i.exec(hint);
    return m ? Number(m[1]) : 1;
  };
  const transparent = (c) => c === 'transparent' || /rgba\(.*,\s*0\)$/.test(c);

  window.__hysKb = {
    /**
     * Is there a visible focus indicator on the (focused) element? Looks at
     * the element itself (unless it is invisible, like a custom radio's
     * opacity:0 input), its ::before/::after, and its <label>s and their
     * pseudo-elements, comparing with the style recorded before focus.
     */
    focusIndicator(el) {
      const invisible = (node) => {
        for (let n = node; n && n.nodeType === 1; n = n.parentElement) {
          const cs = getComputedStyle(n);
          if (parseFloat(cs.opacity) === 0 || cs.visibility === 'hidden' || cs.display === 'none') return true;
        }
        const r = node.getBoundingClientRect();
        return r.width < 2 || r.height < 2;
      };
      const selfHidden = invisible(el);
      const before = baseline.get(el);
      const now = snapshot(el);
      const visibleOutline = (s) => s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) > 0 && !transparent(s.outlineColor);
      for (const [name, s] of Object.entries(now)) {
        if (name.startsWith('self') && selfHidden) continue;
        if (name.startsWith('label') && !name.includes('::') && invisible(el.labels[Number(name.slice(5))])) continue;
        const b = before ? before[name] : null;
        if (visibleOutline(s) && (name === 'self' || !b || !visibleOutline(b))) {
          return { ok: true, how: `${name} outline ${s.outlineStyle} ${s.outlineWidth}` };
        }
        if (!b) {
          if (name === 'self' && s.boxShadow !== 'none') return { ok: true, how: 'box-shadow (no baseline)' };
          continue;
        }
        if (s.boxShadow !== 'none' && s.boxShadow !== b.boxShadow) return { ok: true, how: `${name} box-shadow changed` };
        if (s.backgroundColor !== b.backgroundColor && !transparent(s.backgroundColor)) return { ok: true, how: `${name} background changed` };
        if (s.backgroundImage !== b.backgroundImage && s.backgroundImage !== 'none') return { ok: true, how: `${name} background-image changed` };
        for (const side of ['Top', 'Bottom', 'Left', 'Right']) {
          const c = s[`border${side}Color`];
          if (c !== b[`border${side}Color`] && !transparent(c)) return { ok: true, how: `${name} border colour changed` };
        }
        if (s.borderBottomWidth !== b.borderBottomWidth && parseFloat(s.borderBottomWidth) > parseFloat(b.borderBottomWidth)) {
          return { ok: true, how: `${name} border width changed` };
        }
        if (s.textDecorationLine !== 'none' && (s.textDecorationLine !== b.textDecorationLine || s.textDecorationThickness !== b.textDecorationThickness)) {
          return { ok: true, how: `${name} underline changed` };
        }
      }
      if (!before) return { ok: false, how: 'no visible outline or box-shadow (element appeared after load, so no baseline to compare)' };
      return {
        ok: false,
        how: selfHidden
          ? 'element is invisible (e.g. opacity 0) and its label shows no outline/box-shadow/background/border change'
          : 'no visible outline, and no box-shadow/background/border/underline change on focus',
      };
    },
    active() {
      const el = document.activeElement;
      if (!el || el === document.body || el === document.documentElement) return { tag: 'body' };
      const group = el.closest('.hys-form-group[data-question-key]');
      const d = {
        tag: el.tagName.toLowerCase(),
        type: (el.getAttribute('type') || '').toLowerCase(),
        name: el.getAttribute('name') || '',
        id: el.id || '',
        inputmode: el.getAttribute('inputmode') || '',
        text: (el.innerText || el.value || '').replace(/\s+/g, ' ').trim().slice(0, 80),
        className: typeof el.className === 'string' ? el.className : '',
        href: el.getAttribute('href') || '',
        checked: !!el.checked,
        exclusive: el.hasAttribute('data-exclusive'),
        other: el.hasAttribute('data-other'),
        value: 'value' in el ? String(el.value) : '',
        selectedIndex: el.tagName === 'SELECT' ? el.selectedIndex : -1,
        optionValues: el.tagName === 'SELECT' ? Array.from(el.options).map((o) => o.value) : [],
        group: group
          ? {
              key: group.dataset.questionKey,
              kind: group.dataset.questionKind || '',
              maxLength: group.dataset.maxLength ? Number(group.dataset.maxLength) : null,
              min: group.dataset.min ?? null,
              max: group.dataset.max ?? null,
              minSelections: minSelections(group),
            }
          : null,
        rankIndex: -1,
      };
      if (group && el.tagName === 'SELECT') {
        d.rankIndex = Array.from(group.querySelectorAll('select')).indexOf(el);
      }
      d.desc = `${d.tag}${d.type ? `[type=${d.type}]` : ''}${d.name ? `[name="${d.name}"]` : d.id ? `#${d.id}` : ''}${d.text && d.tag !== 'input' && d.tag !== 'textarea' && d.tag !== 'select' ? ` "${d.text.slice(0, 40)}"` : ''}`;
      d.indicator = this.focusIndicator(el);
      return d;
    },
    groups() {
      return Array.from(document.querySelectorAll('.hys-form-group[data-question-key]')).map((g) => ({
        key: g.dataset.questionKey,
        kind: g.dataset.questionKind || '',
      }));
    },
  };
};

async function prepare(page) {
  await page.evaluate(PAGE_HELPERS);
}

async function active(page) {
  let a = await page.evaluate(() => window.__hysKb.active());
  if (a.tag !== 'body' && !a.indicator.ok) {
    // Allow a CSS transition to finish before judging.
    await page.waitForTimeout(300);
    a = await page.evaluate(() => window.__hysKb.active());
  }
  if (a.tag !== 'body') {
    focusChecks++;
    if (DEBUG) console.log(`     focus ${a.desc}: ${a.indicator.ok ? 'indicator' : 'NO INDICATOR'} (${a.indicator.how})`);
    if (!a.indicator.ok) {
      const key = `${a.desc}: ${a.indicator.how}`;
      if (!focusFailures.has(key)) focusFailures.set(key, relPath(BASE, page));
    }
  }
  return a;
}

async function tab(page) {
  await page.keyboard.press('Tab');
  return active(page);
}

/** Tab until `pred(active)` holds; returns that active element description. */
async function tabTo(page, pred, what) {
  for (let i = 0; i < MAX_TABS_PER_PAGE; i++) {
    const a = await tab(page);
    if (pred(a)) return a;
  }
  throw new JourneyError(`could not reach ${what} with Tab on ${relPath(BASE, page)} (${MAX_TABS_PER_PAGE} presses)`);
}

async function typeInto(page, text) {
  await page.keyboard.press('Control+A');
  await page.keyboard.press('Delete');
  await page.keyboard.type(text);
}

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

async function main() {
  let browser;
  const stopWatchdog = startWatchdog(PROG, TOTAL_TIMEOUT_MS, () => {
    console.log(`${PROG}: FAILED: overall timeout (at ${browser ? relPath(BASE, browser.page) : 'launch'})`);
  });
  let code = 1;
  try {
    browser = await launch({ javaScriptEnabled: true });
    let reference = null;
    let reason = null;
    try {
      reference = await journey(browser.page);
    } catch (err) {
      reason = `${err.message.split('\n')[0]} (at ${relPath(BASE, browser.page)})`;
    }
    if (browser.blocked.size) console.log(`note: blocked ${browser.blocked.size} non-loopback request(s), e.g. ${[...browser.blocked][0]}`);
    if (focusFailures.size) {
      console.log(`\nNo visible focus indicator (${focusFailures.size}):`);
      for (const [what, where] of focusFailures) console.log(`  ${where}: ${what}`);
    }
    if (reason) {
      console.log(`\n${PROG}: FAILED: ${reason}`);
    } else if (focusFailures.size) {
      console.log(`\n${PROG}: FAILED: journey completed (reference ${reference}) but ${focusFailures.size} focused element(s) had no visible focus indicator`);
    } else {
      console.log(`${PROG}: ${focusChecks} focus stops checked`);
      console.log(`${PROG}: journey completed, reference ${reference}`);
      code = 0;
    }
  } catch (err) {
    console.log(`${PROG}: FAILED: ${err.message.split('\n')[0]}`);
  } finally {
    stopWatchdog();
    await browser?.close();
  }
  process.exit(code);
}

main();
