// Invitations as an author sees them, in headless Chromium against `lms-harness serve --no-rate-limits` (started by
// crates/lms-harness/tests/browser.rs, which passes LMS_URL and SLACK_URL).
//
// The walk: the admin activates Slack → the author's "Invite learners" opens a confirmation page (who will receive
// it, who has no Slack account, who turned invitations off, who was already invited) → Send → a second click (from a
// page opened before the first was sent) sends nothing and says who was already invited, and the page now names the
// learner with no Slack account → each learner reads the subject in their language (French for Alice, fr-FR) → the
// confirmation page in French → a failed delivery (Slack refuses one post) says why in plain words, the code once in
// a detail, and is retried from the page → Slack stops accepting the app: a reminder fails for everyone, the
// settings page alerts; after a new ACTIVATE the failures are sent again by themselves and the alert is gone.
//
// Screenshots go to tests/browser/artifacts/invitations/. Waits are bounded (Playwright's auto-waiting), no sleeps.

import { check, openWalk, actAs as actAsIn, waitForLog } from './lib.mjs';

const w = await openWalk(import.meta.url);
const { LMS, SLACK, context, page, shot } = w;
const step = (name, fn) => w.step(name, fn);
const actAs = (userId) => actAsIn(page, userId);

const SESSION = 'onboarding-2026-12';
const SESSION_TITLE = 'Onboarding path — December cohort';
const ADMIN_MEMBER = 'U0ADMIN001';
const ALICE = 'U0ALICE001'; // learner-1, fr-FR
const BOB = 'U0BOB00001'; // learner-2, en-US
const EN_SUBJECT = `You are invited to ${SESSION_TITLE}`;
const FR_SUBJECT = `Vous êtes invité·e à « ${SESSION_TITLE} »`;

const row = (userId) => page.locator(`#deliveries tr[data-user="${userId}"]`);

// ACTIVATE → Allow as the workspace's admin; the consent tab comes back to the settings page, Active.
async function activate() {
  await page.goto(`${LMS}/settings/connectors`);
  const [popup] = await Promise.all([context.waitForEvent('page'), page.click('#activate')]);
  await popup.getByRole('heading', { name: /is requesting permission to access/ }).waitFor();
  await popup.selectOption('#member', ADMIN_MEMBER);
  await Promise.all([popup.waitForURL(`${LMS}/settings/connectors`), popup.click('button[value=allow]')]);
  await popup.locator('#slack-state').filter({ hasText: 'Active' }).waitFor();
  await popup.close();
}

// Sets (or clears, with null) a fault on a Web API method of the simulated Slack, from one of its own pages.
async function fault(method, f) {
  await page.goto(`${SLACK}/_sim/`);
  const ok = await page.evaluate(async ([m, f]) => {
    const r = await fetch('/_sim/faults', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ method: m, fault: f }),
    });
    return r.ok;
  }, [method, f]);
  check(ok, `the fault on ${method} was set`);
}

// Opens the confirmation page the way an author does: Paths & sessions → "Invite learners to …".
async function openConfirmation(p = page) {
  await p.goto(`${LMS}/paths`);
  await Promise.all([
    p.waitForURL(`${LMS}/sessions/${SESSION}/invite`),
    p.getByRole('button', { name: `Invite learners to “${SESSION_TITLE}”` }).click(),
  ]);
  await p.getByRole('heading', { level: 1, name: `Invite learners to “${SESSION_TITLE}”` }).waitFor();
}


await step('the admin activates Slack', async () => {
  await page.goto(`${LMS}/`);
  await page.waitForURL(/\/sign-in\?/);
  await Promise.all([page.waitForURL(`${LMS}/settings/connectors`), page.click('button[name=user][value=admin]')]);
  await activate();
  await page.goto(`${LMS}/settings/connectors`);
  await page.locator('#slack-state').filter({ hasText: 'Active' }).waitFor();
});

let second;
await step('"Invite learners" opens a confirmation page: who will receive it, and nothing is sent yet', async () => {
  await actAs('author');
  await page.waitForURL(`${LMS}/paths`);
  await openConfirmation();
  await page.getByRole('heading', { level: 2, name: '4 learners will receive this invitation' }).waitFor();
  const names = await page.locator('#new-learners').innerText();
  for (const n of ['Alice Martin', 'Bob Smith', 'Chen Wei', 'Noa Nobody']) check(names.includes(n), `${n} listed`);
  check((await page.locator('#new-details .no-account').innerText()).includes(': 0'), 'nobody known without Slack yet');
  check((await page.locator('#new-details .opted-out').innerText()).includes(': 0'), 'nobody opted out');
  await page.getByRole('heading', { level: 2, name: 'Already invited: 0' }).waitFor();
  check((await page.locator('#remind').count()) === 0, 'no reminder before anyone is invited');
  await shot(page, '01-confirm-invitation');
  // The same page in a second tab, as a second click would have opened it.
  second = await context.newPage();
  await second.goto(page.url());
  await second.locator('#send').waitFor();
  await page.goto(`${SLACK}/_sim/?member=${BOB}`);
  check((await page.locator('li.msg').count()) === 0, 'nothing was sent by opening the page');
});

await step('Send: the delivery log says what happened for each learner', async () => {
  await page.goto(`${LMS}/sessions/${SESSION}/invite`);
  await Promise.all([page.waitForURL(/\/notifications\/invite-/), page.locator('#send').click()]);
  await page.locator('.flash.ok', { hasText: '4 learners invited' }).waitFor();
  for (const u of ['learner-1', 'learner-2', 'learner-3']) await row(u).locator('.status', { hasText: 'sent' }).waitFor();
  await row('learner-nobody').locator('.status', { hasText: 'skipped' }).waitFor();
  const why = await row('learner-nobody').locator('td.why').innerText();
  check(why.includes("No Slack member has this learner's e-mail address."), `plain words: ${why}`);
  check((await row('learner-nobody').locator('details code').textContent()) === 'no_account', 'the code in a detail');
  await shot(page, '02-delivery-log');
});

await step('a second Send of the same page sends nothing and says who was already invited', async () => {
  await Promise.all([
    second.waitForURL(`${LMS}/sessions/${SESSION}/invite`),
    second.locator('#send').click(),
  ]);
  const flash = await second.locator('.flash.error').innerText();
  check(/Nothing was sent: every learner was already invited/.test(flash), `flash: ${flash}`);
  check(flash.includes('Noa Nobody') && flash.includes('Bob Smith'), `names: ${flash}`);
  await second.getByRole('heading', { level: 2, name: 'Every learner was already invited.' }).waitFor();
  await second.getByRole('heading', { level: 2, name: 'Already invited: 4' }).waitFor();
  const noAccount = await second.locator('#already-details .no-account').innerText();
  check(noAccount.includes(': 1') && noAccount.includes('Noa Nobody'), `no Slack account, by name: ${noAccount}`);
  check((await second.locator('#send').count()) === 0, 'no Send when nobody is new');
  await second.locator('#remind', { hasText: 'Send a reminder to the 4 learners already invited' }).waitFor();
  await shot(second, '03-already-invited');
  await second.close();
  await page.goto(`${SLACK}/_sim/?member=${BOB}`);
  await page.locator('nav.sidebar').getByRole('link', { name: 'LMS Notifications' }).click();
  check((await page.locator('li.msg').count()) === 1, 'Bob got one message, not two');
});

await step('each learner reads the subject in their language', async () => {
  await page.locator('li.msg .blk-header', { hasText: EN_SUBJECT }).waitFor();
  await page.goto(`${SLACK}/_sim/?member=${ALICE}`);
  await page.locator('nav.sidebar').getByRole('link', { name: 'LMS Notifications' }).click();
  await page.locator('li.msg .blk-header', { hasText: FR_SUBJECT }).waitFor();
  check(!(await page.locator('li.msg').innerText()).includes('You are invited'), 'no English in the French message');
  await shot(page, '04-slack-french-subject');
});

await step('the confirmation page in French', async () => {
  await page.goto(`${LMS}/sessions/${SESSION}/invite`);
  await Promise.all([page.waitForNavigation(), page.click('#language')]);
  await page.getByRole('heading', { level: 1, name: `Inviter les apprenants à « ${SESSION_TITLE} »` }).waitFor();
  await page.getByRole('heading', { level: 2, name: 'Déjà invités : 4' }).waitFor();
  await page.locator('#remind', { hasText: 'Envoyer un rappel aux 4 apprenants déjà invités' }).waitFor();
  await shot(page, '05-confirm-french');
  await Promise.all([page.waitForNavigation(), page.click('#language')]);
  await page.getByRole('heading', { level: 2, name: 'Already invited: 4' }).waitFor();
});

let reminder;
await step('Slack refuses one post of a reminder: the failure says why in plain words, the code once in a detail', async () => {
  await fault('chat.postMessage', { kind: 'slack_error', error: 'restricted_action', count: 1 });
  await openConfirmation();
  await Promise.all([page.waitForURL(/\/notifications\/reminder-/), page.locator('#remind').click()]);
  reminder = page.url();
  await page.locator('.flash.ok', { hasText: 'Reminder sent to 4 learners' }).waitFor();
  const failed = page.locator('#deliveries tr:has(.status-failed)');
  check((await failed.count()) === 1, 'one failure');
  const why = failed.locator('td.why');
  const visible = await why.innerText();
  check(visible.includes("the Slack workspace's settings do not let the app do this"), `plain words: ${visible}`);
  check(!visible.includes('restricted_action'), `the code only in the detail: ${visible}`);
  await why.locator('summary').click();
  const opened = await why.innerText();
  check(opened.split('restricted_action').length === 2, `the code once: ${opened}`);
  await shot(page, '06-failed-delivery');
});

await step('Retry on the failed delivery sends it', async () => {
  const failedRow = page.locator('#deliveries tr:has(.status-failed)');
  const user = await failedRow.getAttribute('data-user');
  await Promise.all([page.waitForNavigation(), failedRow.getByRole('button', { name: 'Retry' }).click()]);
  await page.locator('.flash.ok', { hasText: '1 sent again: 1 sent' }).waitFor();
  await row(user).locator('.status', { hasText: 'sent' }).waitFor();
  check((await page.locator('#deliveries .status-failed').count()) === 0, 'no failure left');
  check((await page.locator('#retry-failed').count()) === 0, 'no "Retry all failed" without failures');
  await shot(page, '07-retried');
});

await step('Slack stops accepting the app: a reminder fails for everyone and the admins are alerted', async () => {
  await fault('chat.postMessage', { kind: 'slack_error', error: 'invalid_auth' });
  await openConfirmation();
  await Promise.all([page.waitForURL(/\/notifications\/reminder-/), page.locator('#remind').click()]);
  reminder = page.url();
  check((await page.locator('#deliveries .status-failed').count()) === 4, 'four failures');
  const why = await row('learner-2').locator('td.why').innerText();
  check(/disconnected/.test(why) && /sent again by itself/.test(why), `plain words: ${why}`);
  await page.locator('#retry-failed', { hasText: 'Retry all failed (4)' }).waitFor();
  await shot(page, '08-disconnected-failures');
  await actAs('admin');
  await page.goto(`${LMS}/settings/connectors`);
  await page.getByText('The Slack integration was disconnected').first().waitFor();
  await shot(page, '09-disconnected-alert');
});

await step('a new ACTIVATE sends the failed deliveries again by themselves and clears the alert', async () => {
  await fault('chat.postMessage', null);
  await activate();
  await page.goto(`${LMS}/settings/connectors`);
  check((await page.getByText('The Slack integration was disconnected').count()) === 0, 'the alert is cleared');
  await page.goto(reminder);
  // The background runner (every 2 s) sends them.
  await waitForLog(page, reminder, 'sent', 3);
  await page.goto(reminder);
  await row('learner-nobody').locator('.status', { hasText: 'skipped' }).waitFor();
  await shot(page, '10-sent-after-reconnecting');
  await page.goto(`${SLACK}/_sim/?member=${BOB}`);
  await page.locator('nav.sidebar').getByRole('link', { name: 'LMS Notifications' }).click();
  check((await page.locator('li.msg').count()) === 3, 'the invitation and two reminders');
});

await w.finish();
