// Keyboard-only use of a page (keyboard.mjs, builder-keyboard.mjs): Tab to an element, type, and check that
// every element that receives focus shows a visible focus indicator (outline, or a changed box-shadow /
// background / border / text decoration on the element, its ::before/::after, or its <label>s).
// page.evaluate is used only to LOOK at the focused element and its styles.
import { launch, relPath, startWatchdog } from './lib.mjs';

export const MAX_TABS_PER_PAGE = 200;
const DEBUG = !!process.env.HYS_KEYBOARD_DEBUG; // print every focus stop
let BASE = '';

/** The BASE_URL pages are reported relative to. */
export function keyboardBase(base) {
  BASE = base;
}

/** Unique focus-indicator failures: description -> page path; and how many focus stops were checked. */
export const focusFailures = new Map();
export const focusStats = { checks: 0 };

// ---------------------------------------------------------------- in-page inspection

/**
 * Installed into every page (before focus moves): records the unfocused style
 * signature of every focusable element, and describes the active element.
 */
export const PAGE_HELPERS = () => {
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

export async function prepare(page) {
  await page.evaluate(PAGE_HELPERS);
}

export async function active(page) {
  let a = await page.evaluate(() => window.__hysKb.active());
  if (a.tag !== 'body' && !a.indicator.ok) {
    // Allow a CSS transition to finish before judging.
    await page.waitForTimeout(300);
    a = await page.evaluate(() => window.__hysKb.active());
  }
  if (a.tag !== 'body') {
    focusStats.checks++;
    if (DEBUG) console.log(`     focus ${a.desc}: ${a.indicator.ok ? 'indicator' : 'NO INDICATOR'} (${a.indicator.how})`);
    if (!a.indicator.ok) {
      const key = `${a.desc}: ${a.indicator.how}`;
      if (!focusFailures.has(key)) focusFailures.set(key, relPath(BASE, page));
    }
  }
  return a;
}

export async function tab(page) {
  await page.keyboard.press('Tab');
  return active(page);
}

/** Tab until `pred(active)` holds; returns that active element description. */
export async function tabTo(page, pred, what) {
  for (let i = 0; i < MAX_TABS_PER_PAGE; i++) {
    const a = await tab(page);
    if (pred(a)) return a;
  }
  throw new Error(`could not reach ${what} with Tab on ${relPath(BASE, page)} (${MAX_TABS_PER_PAGE} presses)`);
}

export async function typeInto(page, text) {
  await page.keyboard.press('Control+A');
  await page.keyboard.press('Delete');
  await page.keyboard.type(text);
}


/**
 * Runs `task(page)` in a fresh browser within `timeoutMs`, then reports: the focus stops without a visible
 * indicator, and `${prog}: ${done(result)}` on success. Exits 0 only when the task finished and every focus
 * stop had an indicator.
 */
export async function runKeyboard(prog, timeoutMs, task, done) {
  let browser;
  const stopWatchdog = startWatchdog(prog, timeoutMs, () => {
    console.log(`${prog}: FAILED: overall timeout (at ${browser ? relPath(BASE, browser.page) : 'launch'})`);
  });
  let code = 1;
  try {
    browser = await launch({ javaScriptEnabled: true });
    let result = null;
    let reason = null;
    try {
      result = await task(browser.page);
    } catch (err) {
      reason = `${err.message.split('\n')[0]} (at ${relPath(BASE, browser.page)})`;
    }
    if (browser.blocked.size) console.log(`note: blocked ${browser.blocked.size} non-loopback request(s), e.g. ${[...browser.blocked][0]}`);
    if (focusFailures.size) {
      console.log(`\nNo visible focus indicator (${focusFailures.size}):`);
      for (const [what, where] of focusFailures) console.log(`  ${where}: ${what}`);
    }
    if (reason) {
      console.log(`\n${prog}: FAILED: ${reason}`);
    } else if (focusFailures.size) {
      console.log(`\n${prog}: FAILED: ${done(result)} but ${focusFailures.size} focused element(s) had no visible focus indicator`);
    } else {
      console.log(`${prog}: ${focusStats.checks} focus stops checked`);
      console.log(`${prog}: ${done(result)}`);
      code = 0;
    }
  } catch (err) {
    console.log(`${prog}: FAILED: ${err.message.split('\n')[0]}`);
  } finally {
    stopWatchdog();
    await browser?.close();
  }
  process.exit(code);
}
