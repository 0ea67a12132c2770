#!/usr/bin/env node
// Accessibility check of pages a test has set up, in a real browser (Debian's Chromium) with axe-core (WCAG
// 2.0/2.1/2.2 A and AA rules): the Rust test reaches states that need something only it has (a link from an
// email the SMTP sink received) and hands this script a plan of steps, in order, in one browser:
//
//   {"label": "…", "goto": "/path", "status": 200}
//   {"label": "…", "submit": {"button": "Continue", "fields": {"#email": "not an address"}}, "status": 422,
//    "errors": true}
//   {"cookie": {"name": "…", "value": "…", "path": "/…"}}  gives the browser a cookie (a journey a test began)
//   … "check": false on a step only moves the browser on (signing in, say) without checking the page.
//
// Each checked page must answer its status, have an error summary exactly when `errors` is true (with focus
// and working links), fit 320 CSS px, and have no axe violation.
//
//   node tests/browser/steps-a11y.mjs <BASE_URL> <PLAN.json>
//
// Pages load with JavaScript off, as a11y.mjs does (scripts run only while axe does). Exit 0 when every page
// has no violation and every step worked, else 1.
import fs from 'node:fs';
import { errorSummary } from './form.mjs';
import { die, launch, layoutProblems, navigateBy, parseBaseUrl, printViolations, relPath, runAxe, setScripts, startWatchdog } from './lib.mjs';

const PROG = 'steps-a11y';
const TOTAL_TIMEOUT_MS = Number(process.env.HYS_BROWSER_TIMEOUT_S || 120) * 1000;
const args = process.argv.slice(2);
if (args.length !== 2) die(PROG, 'usage: node tests/browser/steps-a11y.mjs <BASE_URL> <PLAN.json>');
const BASE = parseBaseUrl(PROG, args[0]);
const PLAN = JSON.parse(fs.readFileSync(args[1], 'utf8'));

const checked = [];
const failures = [];

function fail(label, message) {
  failures.push({ label, message });
  console.log(`FAIL ${label}: ${message}`);
}

async function check(page, cdp, step, answered) {
  const { label, status = 200, errors = false } = step;
  if (answered !== status) fail(label, `answered ${answered}, expected ${status}`);
  const summary = await errorSummary(page);
  if (errors && !summary.present) fail(label, 'no error summary');
  if (!errors && summary.present) fail(label, `an unexpected error summary: ${summary.text.slice(0, 200)}`);
  if (summary.brokenLinks.length) fail(label, `error summary links to missing ids: ${summary.brokenLinks.join(', ')}`);
  for (const problem of await layoutProblems(page)) fail(label, problem);
  const violations = await runAxe(page, cdp);
  const url = relPath(BASE, page) + new URL(page.url()).search;
  checked.push({ label, url, violations });
  console.log(`${violations.length ? 'FAIL' : 'ok  '} ${label} ${url}`);
}

async function run(page, cdp, step) {
  let status;
  if (step.cookie) {
    const { hostname } = new URL(BASE);
    await page.context().addCookies([{ ...step.cookie, domain: hostname }]);
    return;
  }
  if (step.goto !== undefined) {
    const response = await page.goto(BASE + step.goto, { waitUntil: 'load' });
    status = response ? response.status() : null;
  } else if (step.submit) {
    for (const [selector, value] of Object.entries(step.submit.fields || {})) {
      if (value === true) await page.locator(selector).first().check();
      else await page.fill(selector, value);
    }
    const button = page.getByRole('button', { name: step.submit.button, exact: true }).first();
    status = await navigateBy(page, () => button.click());
  } else {
    throw new Error(`a step needs "goto" or "submit": ${JSON.stringify(step)}`);
  }
  if (step.check === false) return;
  await check(page, cdp, step, status);
}

async function main() {
  let browser;
  const report = () => {
    const violations = printViolations(checked);
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
    for (const step of PLAN) {
      try {
        await run(page, cdp, step);
      } catch (err) {
        fail(step.label || 'step', `${err.message.split('\n')[0]} (at ${relPath(BASE, page)})`);
      }
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
