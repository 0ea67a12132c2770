// Form-filling helpers for the question pages (used by a11y.mjs).
// Relies on the server's HTML contract: every question is wrapped in
//   <div class="hys-form-group" data-question-key="KEY" data-question-kind="KIND"
//        [data-max-length] [data-max-selections] [data-min] [data-max] [data-required]>
// with inputs named q.KEY, q.KEY.other, q.KEY.day|month|year, q.KEY.OPTIONKEY (ranking).

export const VALID_TEXT = 'Test answer';

/** Describe the question groups present on the current page. */
export async function describeGroups(page) {
  return page.evaluate(() =>
    Array.from(document.querySelectorAll('.hys-form-group[data-question-key]')).map((g) => ({
      key: g.dataset.questionKey,
      kind: g.dataset.questionKind || '',
      maxLength: g.dataset.maxLength ? Number(g.dataset.maxLength) : null,
      // The limit the page states for a textarea when the group has no
      // data-max-length (the character-count's data-maxlength, server default).
      fieldMaxLength: (() => {
        const t = g.querySelector('textarea[data-maxlength]');
        return t && Number(t.dataset.maxlength) > 0 ? Number(t.dataset.maxlength) : null;
      })(),
      maxSelections: g.dataset.maxSelections ? Number(g.dataset.maxSelections) : null,
      minSelections: (() => {
        // Not (yet) in the data-* contract: data-min-selections if present,
        // else the hint the templates print ("Select exactly N",
        // "Select between N and M", "Select at least N").
        if (g.dataset.minSelections) return Number(g.dataset.minSelections);
        const hint = Array.from(g.querySelectorAll('.hys-hint')).map((h) => h.textContent).join(' ');
        const m = /Select (?:exactly|between|at least) (\d+)/i.exec(hint);
        return m ? Number(m[1]) : null;
      })(),
      min: g.dataset.min ?? null,
      max: g.dataset.max ?? null,
      required: g.dataset.required === 'true',
    })),
  );
}

const cssString = (s) => JSON.stringify(String(s));

export function groupLocator(page, key) {
  return page.locator(`.hys-form-group[data-question-key=${cssString(key)}]`);
}

function named(group, name, tagSel = '') {
  return group.locator(`${tagSel}[name=${cssString(name)}]`);
}

/**
 * Set a text field's value even if the browser would truncate typing
 * (e.g. a maxlength attribute): fill, then force the value if it differs.
 */
async function setText(loc, value) {
  await loc.fill(value);
  if ((await loc.inputValue()) !== value) {
    await loc.evaluate((el, v) => {
      el.value = v;
    }, value);
  }
}

async function setOtherText(group, key, value) {
  const other = named(group, `q.${key}.other`);
  if ((await other.count()) > 0) await setText(other.first(), value);
}

async function uncheckAll(boxes) {
  const n = await boxes.count();
  for (let i = 0; i < n; i++) {
    if (await boxes.nth(i).isChecked()) await boxes.nth(i).uncheck();
  }
}

function validNumber(g) {
  if (g.min !== null && g.min !== '' && !Number.isNaN(Number(g.min))) return String(g.min);
  if (g.max !== null && g.max !== '' && Number(g.max) < 1) return String(g.max);
  return '1';
}

function validDate(g) {
  // data-min on a date question, if the server sets one, is expected as YYYY-MM-DD.
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(g.min ?? '');
  if (m) return { day: String(Number(m[3])), month: String(Number(m[2])), year: m[1] };
  return { day: '1', month: '6', year: '1980' };
}

/**
 * Fill a valid answer for one question. Returns a short description, or throws
 * when the expected controls are missing.
 */
export async function fillValid(page, g) {
  const group = groupLocator(page, g.key);
  const k = g.key;
  switch (g.kind) {
    case 'single_choice':
    case 'scale': {
      const radios = named(group, `q.${k}`, 'input[type=radio]');
      if ((await radios.count()) === 0) throw new Error(`question ${k} (${g.kind}): no radios named q.${k}`);
      const first = radios.first();
      await first.check();
      const isOther = (await first.getAttribute('data-other')) !== null;
      await setOtherText(group, k, isOther ? VALID_TEXT : '');
      return 'first option';
    }
    case 'multiple_choice': {
      const boxes = named(group, `q.${k}`, 'input[type=checkbox]');
      if ((await boxes.count()) === 0) throw new Error(`question ${k} (multiple_choice): no checkboxes named q.${k}`);
      await uncheckAll(boxes);
      const nonExclusive = named(group, `q.${k}`, 'input[type=checkbox]:not([data-exclusive])');
      const pool = (await nonExclusive.count()) > 0 ? nonExclusive : boxes;
      const want = Math.min(Math.max(1, g.minSelections || 1), await pool.count());
      let other = false;
      for (let i = 0; i < want; i++) {
        await pool.nth(i).check();
        if ((await pool.nth(i).getAttribute('data-other')) !== null) other = true;
      }
      await setOtherText(group, k, other ? VALID_TEXT : '');
      return want === 1 ? 'first non-exclusive option' : `first ${want} non-exclusive options`;
    }
    case 'short_text':
    case 'long_text': {
      const field = named(group, `q.${k}`, g.kind === 'long_text' ? 'textarea' : 'input');
      if ((await field.count()) === 0) throw new Error(`question ${k} (${g.kind}): no field named q.${k}`);
      const text = g.maxLength ? VALID_TEXT.slice(0, g.maxLength) : VALID_TEXT;
      await setText(field.first(), text);
      return JSON.stringify(text);
    }
    case 'number': {
      const field = named(group, `q.${k}`, 'input');
      if ((await field.count()) === 0) throw new Error(`question ${k} (number): no input named q.${k}`);
      const v = validNumber(g);
      await setText(field.first(), v);
      return v;
    }
    case 'date': {
      const d = validDate(g);
      for (const part of ['day', 'month', 'year']) {
        const field = named(group, `q.${k}.${part}`, 'input');
        if ((await field.count()) === 0) throw new Error(`question ${k} (date): no input named q.${k}.${part}`);
        await setText(field.first(), d[part]);
      }
      return `${d.day}/${d.month}/${d.year}`;
    }
    case 'ranking': {
      const selects = group.locator(`select[name^=${cssString(`q.${k}.`)}]`);
      const n = await selects.count();
      if (n === 0) throw new Error(`question ${k} (ranking): no selects named q.${k}.*`);
      for (let i = 0; i < n; i++) await selects.nth(i).selectOption(String(i + 1));
      return `1..${n}`;
    }
    default:
      throw new Error(`question ${k}: unknown data-question-kind ${JSON.stringify(g.kind)}`);
  }
}

/**
 * Fill an INVALID answer for one question if its kind allows one (per the
 * contract). Returns a description of what was entered, or null when no
 * invalid value can be produced for this question (then nothing is changed).
 */
export async function fillInvalid(page, g) {
  const group = groupLocator(page, g.key);
  const k = g.key;
  switch (g.kind) {
    case 'number': {
      const field = named(group, `q.${k}`, 'input');
      if ((await field.count()) === 0) return null;
      await setText(field.first(), 'abc');
      return `${k}="abc"`;
    }
    case 'date': {
      const vals = { day: '31', month: '2', year: '20x5' };
      for (const part of ['day', 'month', 'year']) {
        const field = named(group, `q.${k}.${part}`, 'input');
        if ((await field.count()) === 0) return null;
        await setText(field.first(), vals[part]);
      }
      return `${k}=31/2/20x5`;
    }
    case 'short_text':
    case 'long_text': {
      const max = g.maxLength || (g.kind === 'long_text' ? g.fieldMaxLength : null);
      if (!max) return null;
      const field = named(group, `q.${k}`, g.kind === 'long_text' ? 'textarea' : 'input');
      if ((await field.count()) === 0) return null;
      await setText(field.first(), 'x'.repeat(max + 1));
      return `${k}=${max + 1} chars (max ${max}${g.maxLength ? '' : ', from the textarea\'s data-maxlength'})`;
    }
    case 'multiple_choice': {
      const boxes = named(group, `q.${k}`, 'input[type=checkbox]');
      const nonExclusive = named(group, `q.${k}`, 'input[type=checkbox]:not([data-exclusive])');
      const exclusive = named(group, `q.${k}`, 'input[type=checkbox][data-exclusive]');
      const nNon = await nonExclusive.count();
      if (g.maxSelections && nNon > g.maxSelections) {
        await uncheckAll(boxes);
        for (let i = 0; i <= g.maxSelections; i++) {
          await nonExclusive.nth(i).check();
          if ((await nonExclusive.nth(i).getAttribute('data-other')) !== null) await setOtherText(group, k, VALID_TEXT);
        }
        return `${k}=${g.maxSelections + 1} ticked (max ${g.maxSelections})`;
      }
      if ((await exclusive.count()) > 0 && nNon > 0) {
        await uncheckAll(boxes);
        await exclusive.first().check();
        await nonExclusive.first().check();
        if ((await nonExclusive.first().getAttribute('data-other')) !== null) await setOtherText(group, k, VALID_TEXT);
        return `${k}="none of these" plus another option`;
      }
      return null;
    }
    case 'ranking': {
      const selects = group.locator(`select[name^=${cssString(`q.${k}.`)}]`);
      const n = await selects.count();
      if (n < 2) return null;
      for (let i = 0; i < n; i++) await selects.nth(i).selectOption(i < 2 ? '1' : String(i));
      return `${k}=two options ranked 1`;
    }
    default:
      return null;
  }
}

/**
 * Which question groups have no answer at all on the page (no checked
 * radio/checkbox, all text fields and selects empty)? Returns their keys.
 */
export async function unansweredGroups(page) {
  return page.evaluate(() =>
    Array.from(document.querySelectorAll('.hys-form-group[data-question-key]'))
      .filter((g) => {
        const controls = Array.from(g.querySelectorAll('input, textarea, select')).filter(
          (el) => el.type !== 'hidden' && el.type !== 'submit' && el.type !== 'button',
        );
        return !controls.some((el) =>
          el.type === 'radio' || el.type === 'checkbox' ? el.checked : String(el.value).trim() !== '',
        );
      })
      .map((g) => g.dataset.questionKey),
  );
}

/** Error summary state: { present, text, brokenLinks[] } (links whose #target is missing). */
export async function errorSummary(page) {
  return page.evaluate(() => {
    const s = document.querySelector('.hys-error-summary');
    if (!s) return { present: false, text: '', brokenLinks: [] };
    const brokenLinks = Array.from(s.querySelectorAll('a[href^="#"]'))
      .map((a) => a.getAttribute('href'))
      .filter((href) => {
        let id = href.slice(1);
        try {
          id = decodeURIComponent(id);
        } catch {
          /* keep raw */
        }
        return !id || !document.getElementById(id);
      });
    return { present: true, text: s.innerText.replace(/\s+/g, ' ').trim(), brokenLinks };
  });
}
