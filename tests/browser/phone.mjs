// The pages on a phone (390×844) against `lms-harness serve --restricted`: every LMS page as the admin, the author
// and a learner, and the simulated Slack's pages (the consent page, the request form and its confirmation, the app
// requests, a conversation), each no wider than the screen (`document.documentElement.scrollWidth <= 390`), with a
// screenshot of each. Then the author switches the pages to French with the header's switch: the pages read in
// French, on every page after, and still fit.
//
// Run by crates/lms-harness/tests/browser.rs; screenshots in tests/browser/artifacts/phone/.

import { check, openWalk, actAs as actAsIn } from './lib.mjs';

const WIDTH = 390;
const w = await openWalk(import.meta.url, { viewport: { width: WIDTH, height: 844 } });
const { LMS, SLACK, context, page, shot } = w;
const step = (name, fn) => w.step(name, fn);
const actAs = (userId) => actAsIn(page, userId);

const SESSION = 'onboarding-2026-12';
const SESSION_TITLE = 'Onboarding path — December cohort';
const BOB = 'U0BOB00001'; // learner-2
const ALICE = 'U0ALICE001'; // a plain member: in a restricted workspace she must request the app
let shots = 0;

/// Asserts that the page is no wider than the screen, after a screenshot named `name`. On failure, names the
/// elements that stick out.
async function fits(p, name) {
  await p.waitForLoadState();
  shots += 1;
  await shot(p, `${String(shots).padStart(2, '0')}-${name}`);
  const { width, wide } = await p.evaluate((limit) => {
    const wide = [...document.querySelectorAll('body *')]
      .filter((el) => el.getBoundingClientRect().right > limit + 0.5)
      .slice(0, 5)
      .map((el) => `${el.tagName.toLowerCase()}${el.id ? `#${el.id}` : ''}${el.className ? `.${String(el.className).split(' ').join('.')}` : ''} (right ${Math.round(el.getBoundingClientRect().right)})`);
    return { width: document.documentElement.scrollWidth, wide };
  }, WIDTH);
  check(width <= WIDTH, `${name} (${p.url()}) is ${width} px wide on a ${WIDTH} px screen: ${wide.join(', ')}`);
}

/// Visits `path` of the LMS and checks that it fits.
async function visit(path, name) {
  await page.goto(`${LMS}${path}`);
  await fits(page, name);
}

let notification;

await step('the sign-in page fits', async () => {
  await page.goto(`${LMS}/`);
  await page.waitForURL(/\/sign-in\?/);
  await fits(page, 'sign-in');
  await Promise.all([page.waitForURL(`${LMS}/settings/connectors`), page.click('button[name=user][value=admin]')]);
  await fits(page, 'admin-connectors-inactive');
});

await step("ACTIVATE in a restricted workspace: Slack's consent page, the request form and its confirmation fit", async () => {
  const [popup] = await Promise.all([context.waitForEvent('page'), page.click('#activate')]);
  await popup.getByRole('heading', { name: /is requesting permission to access/ }).waitFor();
  await popup.selectOption('#member', ALICE);
  await fits(popup, 'slack-consent');
  await popup.click('button[value=allow]');
  await popup.getByRole('heading', { name: /Request to install/ }).waitFor();
  await popup.fill('#message', 'To send the invitations of our learning platform in Slack');
  await fits(popup, 'slack-request-form');
  await popup.click('button[value=request]');
  await popup.getByRole('heading', { name: 'Request submitted' }).waitFor();
  await fits(popup, 'slack-request-submitted');
  await popup.close();
});

await step('the app requests page fits; the app manager approves', async () => {
  await page.goto(`${SLACK}/_sim/requests`);
  await page.getByRole('button', { name: 'Approve' }).waitFor();
  await fits(page, 'slack-requests');
  await page.getByRole('button', { name: 'Approve' }).click();
  await page.getByRole('cell', { name: 'Approved', exact: true }).waitFor();
  await fits(page, 'slack-requests-approved');
});

await step('ACTIVATE → Allow: the active tile fits', async () => {
  await page.goto(`${LMS}/settings/connectors`);
  const [popup] = await Promise.all([context.waitForEvent('page'), page.click('#activate')]);
  await popup.getByRole('heading', { name: /is requesting permission to access/ }).waitFor();
  await popup.selectOption('#member', ALICE);
  await Promise.all([popup.waitForURL(`${LMS}/settings/connectors`), popup.click('button[value=allow]')]);
  await popup.locator('#slack-state', { hasText: 'Active' }).waitFor();
  await fits(popup, 'admin-connectors-active');
  await popup.close();
});

await step('an invitation: its confirmation page, the delivery log and the notification’s log fit', async () => {
  await page.goto(`${LMS}/paths`);
  await Promise.all([
    page.waitForURL(/\/sessions\/[^/]+\/invite$/),
    page.getByRole('button', { name: `Invite learners to “${SESSION_TITLE}”` }).click(),
  ]);
  await fits(page, 'admin-invite-confirmation');
  await Promise.all([page.waitForURL(/\/notifications\/invite-/), page.locator('#send').click()]);
  notification = new URL(page.url()).pathname;
  await page.locator('#deliveries tr[data-user="learner-2"] .status', { hasText: 'sent' }).waitFor();
  await fits(page, 'admin-notification-log');
});

for (const [user, who] of [['admin', 'admin'], ['author', 'author'], ['learner-2', 'learner']]) {
  await step(`every LMS page fits as the ${who}`, async () => {
    await page.goto(`${LMS}/me/notifications`);
    await actAs(user);
    await visit('/settings/connectors', `${who}-connectors`);
    await visit('/paths', `${who}-paths`);
    await visit(`/sessions/${SESSION}`, `${who}-session`);
    await visit('/notifications', `${who}-delivery-log`);
    await visit(notification, `${who}-notification-log`);
    await visit('/me/notifications', `${who}-my-notifications`);
    await visit('/no-such-page', `${who}-not-found`);
    if (who === 'admin') {
      await visit('/settings/connectors/slack/deactivate', 'admin-deactivate-confirmation');
      await visit('/vendor', 'admin-vendor-console');
    }
  });
}

await step("the learner's conversation in the simulated Slack fits", async () => {
  await page.goto(`${SLACK}/_sim/?member=${BOB}`);
  await page.locator('nav.sidebar').getByRole('link', { name: 'LMS Notifications' }).click();
  await page.locator('li.msg .blk-header').first().waitFor();
  await fits(page, 'slack-conversation');
});

await step('the author switches to Français: the pages read in French, page after page, and fit', async () => {
  await page.goto(`${LMS}/me/notifications`);
  await actAs('author');
  await page.goto(`${LMS}/paths`);
  await Promise.all([page.waitForNavigation(), page.getByRole('button', { name: 'Français' }).click()]);
  await page.waitForURL(`${LMS}/paths`);
  check((await page.getAttribute('html', 'lang')) === 'fr', 'the page says it is French');
  await page.getByRole('heading', { name: 'Parcours et sessions', level: 1 }).waitFor();
  await page.getByRole('button', { name: `Inviter les apprenants à « ${SESSION_TITLE} »` }).waitFor();
  await page.getByText('Ajouter une étape « Message Slack »').first().waitFor();
  await fits(page, 'author-paths-fr');
  // The switch persists: the next pages are French too.
  await page.goto(`${LMS}/me/notifications`);
  check((await page.getAttribute('html', 'lang')) === 'fr', 'still French on the next page');
  await page.getByRole('link', { name: 'Parcours et sessions' }).waitFor();
  await page.getByRole('button', { name: 'English' }).waitFor();
  await fits(page, 'author-my-notifications-fr');
  await visit('/notifications', 'author-delivery-log-fr');
  check((await page.getAttribute('html', 'lang')) === 'fr', 'French on the delivery log');
  await page.getByRole('link', { name: 'Journal des envois' }).waitFor();
  // A bare error page follows the visitor's language too.
  await visit('/no-such-page', 'author-not-found-fr');
  await page.getByRole('heading', { name: 'Page introuvable' }).waitFor();
});

await w.finish();
