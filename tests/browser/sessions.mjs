// A session that changes and is cancelled, and the messages sent about it that stay true, against `lms-harness serve
// --no-rate-limits` (started by crates/lms-harness/tests/browser.rs, which passes LMS_URL and SLACK_URL).
//
// The walk: the admin activates Slack and invites the learners; the invitations go out → a learner sees the session
// and nothing to change it → the admin's reminders on Settings → Connectors: the defaults in words, bad input refused
// saying why, new rules saved → the author moves the session on its page (dates in the author's own time zone): the
// flash says what changed and how many Slack messages follow → the background runner updates them: the delivery log
// says "updated", and the learner's conversation in the simulated Slack still has ONE message for the invitation,
// "(edited)", with the old date struck through beside the new one → "Cancel session…" opens a confirmation page that
// says what happens; confirmed, the session says "Cancelled" with no button left → the message says it is cancelled
// and has no button.
//
// Screenshots go to tests/browser/artifacts/sessions/. Waits are bounded (Playwright's auto-waiting), no sleeps.

import { activateAsAdmin, check, openWalk, actAs as actAsIn, waitForLog } from './lib.mjs';

const w = await openWalk(import.meta.url);
const { LMS, SLACK, context, page, shot } = w;
const step = (name, fn) => w.step(name, fn);
const actAs = (userId) => actAsIn(page, userId);

const SESSION = 'onboarding-2026-12';
const SESSION_TITLE = 'Onboarding path — December cohort';
const SESSION_PAGE = `${LMS}/sessions/${SESSION}`;
// The confirmation page, as the button's GET form opens it (with an empty query).
const CANCEL_PAGE = new RegExp(`/sessions/${SESSION}/cancel\\??$`);
const BOB = 'U0BOB00001'; // learner-2, en-US, America/New_York
// The seeded session starts on 1 Dec 2026 at 08:00 UTC: 3:00 AM in New York. The author (Europe/London, on GMT in
// January) moves it to 15 Jan 2027, 09:00–12:00: 4:00 AM in New York.
const OLD_START = 'Dec 1, 2026';
const NEW_START = '2027-01-15T09:00';
const NEW_END = '2027-01-15T12:00';

const row = (userId) => page.locator(`#deliveries tr[data-user="${userId}"]`);


// The newest update of the invitation in the session page's notifications.
async function newestUpdate() {
  await page.goto(SESSION_PAGE);
  const href = await page.locator('a[href^="/notifications/update-"]').first().getAttribute('href');
  return `${LMS}${href}`;
}

// Bob's conversation with the app in the simulated Slack.
async function openBobsConversation() {
  await page.goto(`${SLACK}/_sim/?member=${BOB}`);
  await page.locator('nav.sidebar').getByRole('link', { name: 'LMS Notifications' }).click();
  await page.getByRole('heading', { name: 'LMS Notifications', level: 2 }).waitFor();
}

await step('the admin activates Slack and invites the learners; the invitations go out', async () => {
  await activateAsAdmin(page, context, LMS);
  await page.goto(`${LMS}/paths`);
  await Promise.all([
    page.waitForURL(`${LMS}/sessions/${SESSION}/invite`),
    page.getByRole('button', { name: `Invite learners to “${SESSION_TITLE}”` }).click(),
  ]);
  await Promise.all([page.waitForURL(/\/notifications\/invite-/), page.locator('#send').click()]);
  for (const u of ['learner-1', 'learner-2', 'learner-3']) await row(u).locator('.status', { hasText: 'sent' }).waitFor();
  await openBobsConversation();
  check((await page.locator('li.msg').count()) === 1, 'one invitation');
  await page.locator('li.msg del').count().then((n) => check(n === 0, 'nothing struck through yet'));
});

await step('a learner sees the session, and nothing that changes or cancels it', async () => {
  await page.goto(SESSION_PAGE);
  await actAs('learner-2');
  await page.waitForURL(SESSION_PAGE);
  await page.getByRole('heading', { name: SESSION_TITLE, level: 1 }).waitFor();
  for (const what of ['#edit-session', '#cancel-session', '#save-session', 'a[href$="/invite"]']) {
    check((await page.locator(what).count()) === 0, `no ${what} for a learner`);
  }
  await page.goto(`${SESSION_PAGE}/cancel`);
  await page.getByText('Only authors and platform admins can see this page').waitFor();
  await shot(page, '01-learner-session');
});

await step("the admin's reminders: the defaults in words, bad input refused saying why, new rules saved", async () => {
  await page.goto(`${LMS}/settings/connectors`);
  await actAs('admin');
  const card = page.locator('#reminders');
  await card.getByRole('heading', { name: 'Reminders before a session' }).waitFor();
  const rules = await card.locator('#reminder-rules li').allInnerTexts();
  check(rules.join('|') === 'the day before at 09:00|1 h before', `the defaults in words: ${rules}`);
  check((await card.getByLabel('Reminders').inputValue()) === 'day-before@09:00, 1h', 'the rules as written');
  await card.getByLabel('Reminders').fill('soon');
  await Promise.all([page.waitForNavigation(), card.locator('#save-reminders').click()]);
  const refused = await page.locator('.flash.error').innerText();
  check(refused.includes('The reminders were not changed') && refused.includes('`soon` is not a reminder'), refused);
  check((await card.getByLabel('Reminders').inputValue()) === 'day-before@09:00, 1h', 'nothing changed');
  await card.getByLabel('Reminders').fill('day-before@08:30, 2h');
  await Promise.all([page.waitForNavigation(), card.locator('#save-reminders').click()]);
  await page.locator('.flash.ok', { hasText: 'Reminders saved: the day before at 08:30; 2 h before.' }).waitFor();
  const saved = await card.locator('#reminder-rules li').allInnerTexts();
  check(saved.join('|') === 'the day before at 08:30|2 h before', `saved: ${saved}`);
  await shot(page, '02-reminders');
});

await step('the author moves the session on its page: the flash says what changed and how many messages follow', async () => {
  await page.goto(SESSION_PAGE);
  await actAs('author');
  await page.waitForURL(SESSION_PAGE);
  const form = page.locator('#edit-session form');
  check((await form.getByLabel('Title').inputValue()) === SESSION_TITLE, 'the form holds the session');
  // The seeded start, 08:00 UTC, in the author's zone (London, GMT in December).
  check((await form.getByLabel('Starts').inputValue()) === '2026-12-01T08:00', 'the start in the author\'s zone');
  await page.locator('#zone-help', { hasText: 'Europe/London' }).waitFor();
  await form.getByLabel('Starts').fill(NEW_START);
  await form.getByLabel('Ends').fill(NEW_END);
  await shot(page, '03-edit-form');
  await Promise.all([page.waitForURL(SESSION_PAGE), form.getByRole('button', { name: 'Save changes' }).click()]);
  await page.locator('.flash.ok', { hasText: 'Saved: dates changed. 3 Slack messages will be updated.' }).waitFor();
  await page.locator('#dates', { hasText: 'Fri 15 Jan 2027, 09:00 GMT' }).waitFor();
  check((await form.getByLabel('Starts').inputValue()) === NEW_START, 'the form holds the new start');
  await shot(page, '04-saved');
});

await step('the updates go out: the delivery log says "updated", and what changed', async () => {
  const update = await newestUpdate();
  await waitForLog(page, update, 'sent', 3);
  await page.goto(update);
  await page.locator('.change', { hasText: `Updated: ${SESSION_TITLE} (dates changed)` }).waitFor();
  for (const u of ['learner-1', 'learner-2', 'learner-3']) await row(u).locator('.status', { hasText: 'updated' }).waitFor();
  check((await row('learner-nobody').count()) === 0, 'no update for the learner who received nothing');
  await shot(page, '05-update-log');
});

await step("Bob's conversation: ONE message for the invitation, (edited), the old date struck through beside the new", async () => {
  await openBobsConversation();
  const msgs = page.locator('li.msg');
  check((await msgs.count()) === 1, `one message, not ${await msgs.count()}`);
  const msg = msgs.first();
  await msg.locator('.edited', { hasText: '(edited)' }).waitFor();
  await msg.getByText('Message updated. Changes: dates.').waitFor();
  const struck = await msg.locator('del').allInnerTexts();
  check(struck.some((t) => t.includes(OLD_START) && /3:00\s?AM/.test(t)), `the old start struck through: ${struck}`);
  const text = await msg.innerText();
  check(/Jan 15, 2027 4:00\s?AM/.test(text), `the new start in New York time: ${text}`);
  check(/Jan 15, 2027 7:00\s?AM/.test(text), `the new end in New York time: ${text}`);
  await msg.getByRole('button', { name: /Open the session/ }).waitFor();
  await shot(page, '06-slack-edited');
});

await step('"Cancel session…" opens a confirmation page that says what happens', async () => {
  await page.goto(SESSION_PAGE);
  await Promise.all([page.waitForURL(CANCEL_PAGE), page.locator('#cancel-session').click()]);
  await page.getByRole('heading', { level: 1, name: `Cancel “${SESSION_TITLE}”?` }).waitFor();
  const sent = await page.locator('#effect-sent').innerText();
  check(sent.includes('(3)') && sent.includes('updated to say that it is cancelled'), sent);
  const toCome = await page.locator('#effect-to-come').innerText();
  // The reminders of the four learners invited (two rules each) are still to come.
  check(/reminders still to come \(\d+\) are not sent/.test(toCome), toCome);
  await shot(page, '07-confirm-cancel');
  // "No, keep it" changes nothing.
  await Promise.all([page.waitForURL(SESSION_PAGE), page.locator('#keep-session').click()]);
  await page.locator('#save-session').waitFor();
  check((await page.locator('#status').count()) === 0, 'still scheduled');
  await Promise.all([page.waitForURL(CANCEL_PAGE), page.locator('#cancel-session').click()]);
  // In French too.
  await Promise.all([page.waitForNavigation(), page.click('#language')]);
  await page.getByRole('heading', { level: 1, name: `Annuler « ${SESSION_TITLE} » ?` }).waitFor();
  await page.locator('#confirm-cancel', { hasText: 'Oui, annuler la session' }).waitFor();
  await Promise.all([page.waitForNavigation(), page.click('#language')]);
  await page.getByRole('heading', { level: 1, name: `Cancel “${SESSION_TITLE}”?` }).waitFor();
});

await step('confirmed: the session says "Cancelled", with when, and has no button left', async () => {
  await Promise.all([page.waitForURL(SESSION_PAGE), page.locator('#confirm-cancel').click()]);
  await page.locator('.flash.ok', { hasText: 'is cancelled: nothing more is sent about it. 3 Slack messages will be updated.' }).waitFor();
  await page.locator('#status', { hasText: 'Cancelled' }).waitFor();
  await page.locator('#cancelled', { hasText: 'This session was cancelled on' }).waitFor();
  for (const what of ['#edit-session', '#cancel-session', '#save-session', 'a[href$="/invite"]']) {
    check((await page.locator(what).count()) === 0, `no ${what} once cancelled`);
  }
  await shot(page, '08-cancelled');
  await page.goto(`${LMS}/sessions/${SESSION}/invite`);
  await page.waitForURL(SESSION_PAGE);
  await page.locator('.flash.error', { hasText: 'This session is cancelled' }).waitFor();
  await page.goto(`${LMS}/paths`);
  const card = page.locator('section.card', { has: page.getByRole('heading', { name: SESSION_TITLE, level: 3 }) });
  await card.locator('.badge', { hasText: 'Cancelled' }).waitFor();
  check((await card.getByRole('button', { name: /Invite learners/ }).count()) === 0, 'no invitation on the paths page');
});

await step('the cancellation goes out: the message says it is cancelled, and has no button', async () => {
  const update = await newestUpdate();
  await waitForLog(page, update, 'sent', 3);
  await page.goto(update);
  await page.locator('.change', { hasText: `Cancelled: ${SESSION_TITLE}` }).waitFor();
  await openBobsConversation();
  const msgs = page.locator('li.msg');
  check((await msgs.count()) === 1, `still one message, not ${await msgs.count()}`);
  const msg = msgs.first();
  await msg.getByText('This session is cancelled.').waitFor();
  await msg.locator('.edited', { hasText: '(edited)' }).waitFor();
  check((await msg.getByRole('button').count()) === 0, 'no button left');
  check((await msg.locator('img').count()) <= 1, 'no cover (only the avatar)');
  await shot(page, '09-slack-cancelled');
});

await w.finish();
