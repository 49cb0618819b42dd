// What every browser walk shares: the environment the runner passes (crates/lms-harness/tests/browser.rs), Debian's
// Chromium launched by playwright-core (no browser is downloaded), numbered steps in TAP-like output with a screenshot
// of every open page on failure, and bounded waits (Playwright's auto-waiting with the timeouts below, no sleeps).
//
// A walk: `const w = await openWalk(import.meta.url, { viewport, locale })`, then `await w.step(name, fn)` for each
// step (the first failure stops the walk), then `await w.finish()`, which closes the browser and sets the exit code.

import { chromium } from 'playwright-core';
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const TIMEOUT = 20_000;

export function required(name) {
  const v = process.env[name];
  if (!v) {
    console.error(`${name} is not set: run the walks through \`cargo test -p lms-harness --test browser\`.`);
    process.exit(2);
  }
  return v;
}

export function check(cond, what) {
  if (!cond) throw new Error(`check failed: ${what}`);
}

/// Opens Chromium and one page for a walk. `options`: `viewport` ({ width, height }), `locale` (the browser's).
export async function openWalk(moduleUrl, options = {}) {
  const here = dirname(fileURLToPath(moduleUrl));
  const LMS = required('LMS_URL').replace(/\/$/, '');
  const SLACK = required('SLACK_URL').replace(/\/$/, '');
  const ARTIFACTS = process.env.ARTIFACTS ?? join(here, 'artifacts');
  const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';
  mkdirSync(ARTIFACTS, { recursive: true });
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-gpu'],
    timeout: 60_000,
  });
  const context = await browser.newContext({
    viewport: options.viewport ?? { width: 1280, height: 900 },
    locale: options.locale ?? 'en-US',
  });
  context.setDefaultTimeout(TIMEOUT);
  context.setDefaultNavigationTimeout(TIMEOUT);
  const page = await context.newPage();
  let n = 0;
  let failed = 0;
  let stopped = false;
  const shot = async (p, name) => p.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: true });
  return {
    here, LMS, SLACK, ARTIFACTS, browser, context, page, shot,
    /// Runs one step, unless an earlier one failed.
    async step(name, fn) {
      if (stopped) return;
      n += 1;
      const t0 = Date.now();
      try {
        await fn();
        console.log(`ok ${n} - ${name} (${Date.now() - t0} ms)`);
      } catch (e) {
        failed += 1;
        stopped = true;
        console.log(`not ok ${n} - ${name}\n  ${String(e.stack ?? e).split('\n').join('\n  ')}`);
        for (const [i, p] of context.pages().entries()) {
          await shot(p, `failure-${n}-${i}`).catch(() => {});
          console.log(`  page ${i}: ${p.url()}`);
        }
      }
    },
    get failed() { return failed; },
    /// Closes the browser and exits: 0 when every step passed.
    async finish() {
      await browser.close();
      console.log(`browser: ${n - failed} passed, ${failed} failed`);
      process.exit(failed === 0 ? 0 : 1);
    },
  };
}

/// Signs in as the admin from the sign-in page of `lms` and activates Slack: Allow clicked as the workspace admin on
/// the simulated consent page the ACTIVATE button opens, until the tile says Active.
export async function activateAsAdmin(page, context, lms) {
  await page.goto(`${lms}/`);
  await Promise.all([page.waitForURL(`${lms}/settings/connectors`), page.click('button[name=user][value=admin]')]);
  const [popup] = await Promise.all([context.waitForEvent('page'), page.click('#activate')]);
  await popup.getByRole('heading', { name: /is requesting permission to access/ }).waitFor();
  await popup.selectOption('#member', 'U0ADMIN001');
  await Promise.all([popup.waitForURL(`${lms}/settings/connectors`), popup.click('button[value=allow]')]);
  await popup.locator('#slack-state', { hasText: 'Active' }).waitFor();
  await popup.close();
}

/// Signs in as `userId` through the "Signed in as" switch of the page's header.
export async function actAs(page, userId) {
  await Promise.all([page.waitForNavigation(), page.selectOption('#act-as', userId)]);
}

// Waits, bounded, until the delivery log at `url` has no pending delivery and `what` rows in `status`. The page's own
// fetches poll it (one at a time per URL), so that the walk does not navigate away from where it is.
export async function waitForLog(page, url, status, what) {
  await page.waitForFunction(
    ([u, s, n]) => {
      const p = (window.__logPoll ??= {});
      p[u] ??= { busy: false, done: false };
      const k = p[u];
      if (!k.busy && !k.done) {
        k.busy = true;
        fetch(u, { cache: 'no-store' })
          .then((r) => r.text())
          .then((html) => {
            const doc = new DOMParser().parseFromString(html, 'text/html');
            const rows = [...doc.querySelectorAll('#deliveries tbody tr')];
            const pending = rows.filter((r) => /status-(queued|in_flight)/.test(r.cells[1].className)).length;
            k.done = pending === 0 && rows.filter((r) => r.cells[1].classList.contains(`status-${s}`)).length === n;
          })
          .finally(() => { k.busy = false; });
      }
      return k.done;
    },
    [url, status, what],
    { polling: 250, timeout: TIMEOUT },
  );
}
