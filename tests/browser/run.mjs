// Browser tests of `lms-harness serve` in real headless Chromium (Debian's /usr/bin/chromium, driven by
// playwright-core; no browser is downloaded). Run by `cargo test` through crates/lms-harness/tests/browser.rs, which
// starts `lms-harness serve --restricted` on free ports and passes LMS_URL and SLACK_URL.
//
// The walk: an anonymous visitor signs in (picks a user) → a learner sees the Slack tile without buttons → ACTIVATE in a workspace that restricts app installs (the member
// requests the app, an app manager approves it, ACTIVATE → Allow) → invite → the learner's conversation in the
// simulated Slack shows every element of the message → the learner turns a toggle off → a reminder of the invitation is
// skipped with its reason in the delivery log → DEACTIVATE, once confirmed, hides the conversation → reactivating
// shows it again.
//
// Screenshots go to tests/browser/artifacts/ (ARTIFACTS overrides). With UPDATE_DOCS_SCREENSHOTS=1, the two
// shown in the README are copied to docs/screenshots/.
// Waits are bounded: Playwright's auto-waiting with the timeouts below, no sleeps.

import { copyFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { TIMEOUT, check, openWalk, actAs as actAsIn } from './lib.mjs';

const w = await openWalk(import.meta.url);
const { here, LMS, SLACK, ARTIFACTS, context, page, shot } = w;
const step = (name, fn) => w.step(name, fn);

const SESSION_TITLE = 'Onboarding path — December cohort';
const INVITE_TITLE = `You are invited to ${SESSION_TITLE}`;
const BOB = 'U0BOB00001'; // learner-2 in the LMS, English, America/New_York
const ALICE = 'U0ALICE001'; // a plain member: in a restricted workspace she must request the app

const actAs = (userId) => actAsIn(page, userId);

const tileState = (p) => p.locator('#slack-state');

// ACTIVATE opens Slack's consent page in a new tab; returns that tab.
async function clickActivate() {
  const [popup] = await Promise.all([context.waitForEvent('page'), page.click('#activate')]);
  await popup.waitForLoadState();
  return popup;
}

// On the consent page: sign in as `member` (if not already) and click Allow; the tab comes back to the LMS.
async function allowAs(popup, member, screenshot) {
  await popup.getByRole('heading', { name: /is requesting permission to access/ }).waitFor();
  if ((await popup.inputValue('#member')) !== member) await popup.selectOption('#member', member);
  if (screenshot) await shot(popup, screenshot);
  await Promise.all([popup.waitForURL(`${LMS}/settings/connectors`), popup.click('button[value=allow]')]);
  await tileState(popup).filter({ hasText: 'Active' }).waitFor();
}

// "Invite learners" opens the confirmation page; then "Send" (the learners not invited yet) or, with `reminder`,
// "Send a reminder" (those already invited). Returns the URL of the notification's delivery log.
async function invite({ reminder = false } = {}) {
  await page.goto(`${LMS}/paths`);
  await Promise.all([
    page.waitForURL(/\/sessions\/[^/]+\/invite$/),
    page.getByRole('button', { name: `Invite learners to “${SESSION_TITLE}”` }).click(),
  ]);
  await Promise.all([
    page.waitForURL(reminder ? /\/notifications\/reminder-/ : /\/notifications\/invite-/),
    page.locator(reminder ? '#remind' : '#send').click(),
  ]);
  await page.locator('#deliveries').waitFor();
  return page.url();
}

const deliveryRow = (userId) => page.locator(`#deliveries tr[data-user="${userId}"]`);

async function openConversation(p, member) {
  await p.goto(`${SLACK}/_sim/?member=${member}`);
  const app = p.locator('nav.sidebar').getByRole('link', { name: 'LMS Notifications' });
  await app.click();
  await p.getByRole('heading', { name: 'LMS Notifications', level: 2 }).waitFor();
}

async function imageLoaded(img) {
  return img.evaluate((el) => el.complete && el.naturalWidth > 0);
}

await step('an anonymous visitor is sent to sign in; as the admin, Settings → Connectors shows the Slack tile, Inactive', async () => {
  await page.goto(`${LMS}/`);
  await page.waitForURL(/\/sign-in\?/);
  check((await page.locator('#slack-state').count()) === 0, 'no tile before signing in');
  await Promise.all([
    page.waitForURL(`${LMS}/settings/connectors`),
    page.click('button[name=user][value=admin]'),
  ]);
  await tileState(page).filter({ hasText: 'Inactive' }).waitFor();
  await page.getByRole('button', { name: /ACTIVATE/ }).waitFor();
  await shot(page, '01-connectors-inactive');
});

await step('a learner sees the tile without ACTIVATE or DEACTIVATE: only admins get the buttons', async () => {
  await actAs('learner-2');
  await page.waitForURL(`${LMS}/me/notifications`);
  await page.goto(`${LMS}/settings/connectors`);
  await page.getByText('Only platform admins can activate or deactivate connectors.').waitFor();
  await tileState(page).filter({ hasText: 'Inactive' }).waitFor();
  check((await page.locator('#activate, #deactivate').count()) === 0, 'no button a learner would be refused');
  await shot(page, '02-no-buttons-for-learner');
  await actAs('admin');
  await page.waitForURL(`${LMS}/settings/connectors`);
});

await step('restricted workspace: ACTIVATE → the member submits a request to install the app', async () => {
  const popup = await clickActivate();
  check(popup.url().startsWith(`${SLACK}/oauth/v2/authorize?`), `consent URL ${popup.url()}`);
  await popup.getByRole('heading', { name: /is requesting permission to access/ }).waitFor();
  await popup.selectOption('#member', ALICE);
  await popup.click('button[value=allow]');
  await popup.getByRole('heading', { name: /Request to install LMS Notifications/ }).waitFor();
  await popup.fill('#message', "To send the LMS's path and course invitations in Slack");
  await shot(popup, '03-slack-request-form');
  await popup.click('button[value=request]');
  await popup.getByRole('heading', { name: 'Request submitted' }).waitFor();
  // Slack's page links back to the LMS.
  await Promise.all([popup.waitForURL(`${LMS}/settings/connectors`), popup.click('#back-to-app')]);
  await popup.close();
  // Back in the LMS, the admin says so: the tile shows Approval requested and what to do next.
  await Promise.all([page.waitForNavigation(), page.click('#requested')]);
  await tileState(page).filter({ hasText: 'Approval requested' }).waitFor();
  await page.getByText('What to do next:').waitFor();
  await shot(page, '03b-connectors-approval-requested');
  await page.goto(`${SLACK}/_sim/?member=${ALICE}`);
  await page.getByText('has been sent to your App Managers').waitFor();
});

await step('an app manager approves the request; Slackbot tells the member', async () => {
  await page.goto(`${SLACK}/_sim/requests`);
  await page.getByRole('cell', { name: "To send the LMS's path and course invitations in Slack" }).waitFor();
  await page.getByRole('button', { name: 'Approve' }).click();
  await page.getByRole('cell', { name: 'Approved', exact: true }).waitFor();
  await shot(page, '04-slack-request-approved');
  await page.goto(`${SLACK}/_sim/?member=${ALICE}`);
  await page.getByText('was approved').waitFor();
});

await step('ACTIVATE → Allow: the tab comes back to the settings page, the tile is Active', async () => {
  await page.goto(`${LMS}/settings/connectors`);
  const popup = await clickActivate();
  await allowAs(popup, ALICE, '05-slack-consent');
  await popup.locator('.workspace', { hasText: 'Simulated Workspace' }).waitFor();
  await popup.locator('.flash.ok', { hasText: 'Slack is active' }).waitFor();
  await shot(popup, '06-connectors-active');
  await popup.close();
  // The settings page that stayed open notices it too.
  await tileState(page).filter({ hasText: 'Active' }).waitFor();
});

let firstInvite;
await step('invite the learners: the delivery log says, per learner, what happened', async () => {
  firstInvite = await invite();
  await deliveryRow('learner-2').locator('.status', { hasText: 'sent' }).waitFor();
  await deliveryRow('learner-1').locator('.status', { hasText: 'sent' }).waitFor();
  await deliveryRow('learner-nobody').locator('.status', { hasText: 'skipped' }).waitFor();
  const why = await deliveryRow('learner-nobody').locator('td').nth(2).innerText();
  check(why.trim().length > 0, 'a skipped delivery says why');
  await shot(page, '07-delivery-log');
});

await step("the learner's conversation in Slack shows every element of the message", async () => {
  await openConversation(page, BOB);
  const sidebar = page.locator('nav.sidebar');
  check((await sidebar.locator('h2').allTextContents()).includes('Apps'), 'an Apps section');
  const msgs = page.locator('li.msg');
  check((await msgs.count()) === 1, 'one message');
  const msg = msgs.first();
  // Sender: the platform group's name and logo.
  await msg.locator('.meta strong', { hasText: 'Acme Learning' }).waitFor();
  const logo = msg.locator('.avatar img');
  check((await logo.getAttribute('src')).endsWith('/static/acme-logo.png'), 'the group logo as icon');
  check(await imageLoaded(logo), 'the logo loads');
  await msg.locator('time').waitFor(); // sent at
  // The title (the e-mail subject).
  await msg.locator('.blk-header', { hasText: INVITE_TITLE }).waitFor();
  // The session's title, outside the header.
  check((await msg.locator('.blk-section', { hasText: SESSION_TITLE }).count()) >= 1, 'the session title');
  // The description, truncated (it is longer than 200 characters).
  const text = await msg.innerText();
  check(text.includes('Welcome to Acme!'), 'the description');
  check(!text.includes('Bring your questions!'), 'the description is cut');
  check(text.includes('…'), 'the cut is marked');
  check(text.includes('with a live session…'), `the cut falls between words: ${text}`);
  // The cover image.
  const cover = msg.locator('.blk-image img, .accessory img').first();
  check((await cover.getAttribute('src')).endsWith('/static/covers/onboarding.png'), 'the cover');
  check(await imageLoaded(cover), 'the cover loads');
  check((await cover.getAttribute('alt')) === `Cover image of the session ${SESSION_TITLE}`, 'the cover is described');
  // Start and end dates, in the reader's time zone (New York: 08:00 UTC is 3:00 AM).
  check(/Starts/.test(text) && /Ends/.test(text), 'start and end labels');
  check(/3:00\s?AM/.test(text) && /6:00\s?AM/.test(text), `dates in New York time: ${text}`);
  // The button that opens the session.
  const button = msg.getByRole('button', { name: /Open the session/ });
  await button.waitFor();
  await shot(page, '08-slack-conversation');
  const [tab] = await Promise.all([context.waitForEvent('page'), button.click()]);
  await tab.waitForURL(`${LMS}/sessions/onboarding-2026-12`);
  await tab.getByRole('heading', { name: SESSION_TITLE, level: 1 }).waitFor();
  await tab.close();
});

await step('the learner turns off "I am assigned to a path session"', async () => {
  await page.goto(`${LMS}/`);
  await actAs('learner-2');
  await page.waitForURL(`${LMS}/me/notifications`);
  const toggle = page.getByRole('switch', { name: 'I am assigned to a path session' });
  const other = page.getByRole('switch', {
    name: 'I receive information as part of a path session I am enrolled in',
  });
  check(await toggle.isChecked(), 'on by default');
  check(await other.isChecked(), 'on by default');
  await toggle.uncheck();
  await Promise.all([page.waitForNavigation(), page.getByRole('button', { name: 'Save' }).click()]);
  await page.locator('.flash.ok', { hasText: 'saved' }).waitFor();
  check(!(await toggle.isChecked()), 'saved off');
  check(await other.isChecked(), 'the other stays on');
  await shot(page, '09-learner-notifications');
});

await step('a reminder of the invitation is skipped for that learner, with the reason in the delivery log', async () => {
  await actAs('admin');
  const second = await invite({ reminder: true });
  check(second !== firstInvite, 'a new notification');
  const row = deliveryRow('learner-2');
  await row.locator('.status', { hasText: 'skipped' }).waitFor();
  const why = await row.locator('td').nth(2).innerText();
  check(/turned off/.test(why), `the reason: ${why}`);
  check((await row.locator('details code').textContent()) === 'opted_out', 'the code, in a detail');
  await deliveryRow('learner-1').locator('.status', { hasText: 'sent' }).waitFor();
  await shot(page, '10-delivery-log-opted-out');
});

await step('DEACTIVATE, confirmed: the tile is Inactive and the conversation is hidden in Slack', async () => {
  await page.goto(`${LMS}/settings/connectors`);
  await Promise.all([page.waitForURL(/\/settings\/connectors\/slack\/deactivate/), page.click('#deactivate')]);
  await page.locator('#effects', { hasText: 'Learners stop receiving messages from the app' }).waitFor();
  await Promise.all([page.waitForURL(`${LMS}/settings/connectors`), page.click('#confirm-deactivate')]);
  await page.locator('.flash.ok', { hasText: 'deactivated' }).waitFor();
  await tileState(page).filter({ hasText: 'Inactive' }).waitFor();
  await shot(page, '11-connectors-deactivated');
  await page.goto(`${SLACK}/_sim/?member=${BOB}`);
  await page.getByRole('heading', { name: 'No conversations' }).waitFor();
  check((await page.locator('nav.sidebar').getByRole('link', { name: 'LMS Notifications' }).count()) === 0,
    'no app under Apps');
  await shot(page, '12-slack-hidden');
});

await step('reactivate: the conversation is back with its message', async () => {
  await page.goto(`${LMS}/settings/connectors`);
  const popup = await clickActivate();
  await allowAs(popup, ALICE);
  await popup.close();
  await tileState(page).filter({ hasText: 'Active' }).waitFor();
  await openConversation(page, BOB);
  await page.locator('li.msg .blk-header', { hasText: INVITE_TITLE }).waitFor();
  check((await page.locator('li.msg').count()) === 1, 'the one message is back');
  await shot(page, '13-slack-back');
});

await step('an author adds a "Slack message" step to the path; it reaches the enrolled learners', async () => {
  const title = 'Week 1: meet your mentor';
  await page.goto(`${LMS}/`);
  await actAs('author');
  await page.waitForURL(`${LMS}/paths`);
  const path = page.locator('#path-onboarding details.add-step form');
  await path.getByLabel('Title (the e-mail subject)').fill(title);
  await path.getByLabel('Message').fill('Book your first call with your mentor this week.');
  await path.getByLabel("After each learner's enrolment:").check();
  await path.getByLabel('How long after enrolment').fill('0');
  await path.getByLabel('Unit').selectOption({ label: 'minutes' });
  await Promise.all([page.waitForNavigation(), path.getByRole('button', { name: 'Add the step' }).click()]);
  await page.locator('.flash.ok', { hasText: 'was added' }).waitFor();
  await page.locator('#path-onboarding li.step', { hasText: `Slack message: ${title}` }).waitFor();
  await shot(page, '14-path-step');
  // The background runner (every 2 s) queues and sends it: wait, bounded, until the delivery log lists it with
  // nothing pending.
  await page.waitForFunction(
    (t) => {
      // One fetch at a time; the predicate itself stays synchronous (its result is read at every poll).
      const p = (window.__stepPoll ??= { busy: false, done: false });
      if (!p.busy && !p.done) {
        p.busy = true;
        fetch('/notifications', { cache: 'no-store' })
          .then((r) => r.text())
          .then((html) => {
            const doc = new DOMParser().parseFromString(html, 'text/html');
            const row = [...doc.querySelectorAll('tbody tr')].find((r) => r.cells[0].textContent === t);
            p.done = row !== undefined && row.cells[3].textContent !== '0' && row.cells[6].textContent === '0';
          })
          .finally(() => { p.busy = false; });
      }
      return p.done;
    },
    title,
    { polling: 250, timeout: TIMEOUT },
  );
  await page.goto(`${LMS}/notifications`);
  await page.getByRole('link', { name: title }).click();
  await page.waitForURL(/\/notifications\/step-/);
  await deliveryRow('learner-2').locator('.status', { hasText: 'sent' }).waitFor();
  await shot(page, '15-path-step-delivery-log');
  await openConversation(page, BOB);
  await page.locator('li.msg', { hasText: 'Book your first call with your mentor this week.' }).waitFor();
});

if (w.failed === 0 && process.env.UPDATE_DOCS_SCREENSHOTS === '1') {
  const docs = join(here, '..', '..', 'docs', 'screenshots');
  mkdirSync(docs, { recursive: true });
  copyFileSync(join(ARTIFACTS, '06-connectors-active.png'), join(docs, 'lms-connectors-active.png'));
  copyFileSync(join(ARTIFACTS, '08-slack-conversation.png'), join(docs, 'slack-invitation.png'));
  console.log(`screenshots copied to ${docs}`);
}
await w.finish();
