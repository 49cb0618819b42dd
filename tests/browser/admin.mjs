// The admin's side, in headless Chromium, against `lms-harness serve --restricted` (started by
// crates/lms-harness/tests/browser.rs): learners and authors see no button they would be refused; in a workspace that
// restricts app installs, the request's page links back to the LMS, an App Manager's denial reaches the requester
// (Slackbot, and Slack's install page), and the admin cancels the request; the vendor console hides and shows the
// tile, and deactivates a connected integration first after saying so; DEACTIVATE asks for confirmation; the pages
// in French.
//
// Screenshots go to tests/browser/artifacts/admin/. Waits are bounded: Playwright's auto-waiting, no sleeps.

import { check, openWalk, actAs as actAsIn } from './lib.mjs';

const w = await openWalk(import.meta.url);
const { LMS, SLACK, context, page, shot } = w;
const step = (name, fn) => w.step(name, fn);

const ALICE = 'U0ALICE001'; // a plain member: in a restricted workspace she must request the app
const ADA = 'U0ADMIN001'; // a workspace admin: she may install the app herself
const REASON = 'We already use another tool for this';

const actAs = (userId) => actAsIn(page, userId);
const tileState = (p) => p.locator('#slack-state');
const SETTINGS = `${LMS}/settings/connectors`;

// ACTIVATE opens Slack in a new tab; returns that tab.
async function clickActivate() {
  const [popup] = await Promise.all([context.waitForEvent('page'), page.click('#activate')]);
  await popup.waitForLoadState();
  return popup;
}

// Signs in to the simulated Slack as `member` (the member its consent page then shows).
async function slackSignIn(member) {
  await page.goto(`${SLACK}/_sim/?member=${member}`);
  await Promise.all([page.waitForNavigation(), page.getByRole('button', { name: /^Sign in as / }).click()]);
}

// ACTIVATE → Allow as the workspace admin: the tile is Active.
async function activateAsWorkspaceAdmin() {
  await slackSignIn(ADA);
  await page.goto(SETTINGS);
  const popup = await clickActivate();
  await popup.getByRole('heading', { name: /is requesting permission to access/ }).waitFor();
  await Promise.all([popup.waitForURL(SETTINGS), popup.click('button[value=allow]')]);
  await popup.close();
  await tileState(page).filter({ hasText: 'Active' }).waitFor();
}

async function noButtons(who) {
  await page.goto(SETTINGS);
  await tileState(page).waitFor();
  await page.locator('#read-only').waitFor();
  for (const id of ['activate', 'deactivate', 'requested', 'cancel-request', 'enable']) {
    check((await page.locator(`#${id}`).count()) === 0, `${who} sees no #${id}`);
  }
  check((await page.locator('a[href="/vendor"]').count()) === 0, `${who} sees no link to the vendor console`);
  const r = await page.goto(`${LMS}/vendor`);
  check(r.status() === 403, `${who} is refused the vendor console (${r.status()})`);
}

await step('a learner and an author see the Slack tile without any button they would be refused', async () => {
  await page.goto(`${LMS}/sign-in`);
  await Promise.all([page.waitForNavigation(), page.click('button[name=user][value="learner-2"]')]);
  await noButtons('a learner');
  await page.goto(SETTINGS);
  await shot(page, '01-learner-no-buttons');
  await actAs('author');
  await noButtons('an author');
  await page.goto(SETTINGS);
  await actAs('admin');
  await page.waitForURL(SETTINGS);
  await page.locator('#activate').waitFor();
});

await step('restricted workspace: the member submits a request; the Slack page links back to the LMS', async () => {
  const popup = await clickActivate();
  await popup.getByRole('heading', { name: /is requesting permission to access/ }).waitFor();
  await popup.selectOption('#member', ALICE);
  await popup.click('button[value=allow]');
  await popup.getByRole('heading', { name: /Request to install LMS Notifications/ }).waitFor();
  await popup.fill('#message', "To send the LMS's path and course invitations in Slack");
  await popup.click('button[value=request]');
  await popup.getByRole('heading', { name: 'Request submitted' }).waitFor();
  const back = popup.locator('#back-to-app');
  check((await back.getAttribute('href')) === `${LMS}/`, `the link back goes to the LMS: ${await back.getAttribute('href')}`);
  await shot(popup, '02-slack-request-submitted');
  await Promise.all([popup.waitForURL(SETTINGS), back.click()]);
  await Promise.all([popup.waitForNavigation(), popup.click('#requested')]);
  await tileState(popup).filter({ hasText: 'Approval requested' }).waitFor();
  await popup.locator('#next-step', { hasText: 'Slack does not tell the LMS their answer' }).waitFor();
  await popup.locator('#cancel-request').waitFor();
  await shot(popup, '03-connectors-approval-requested');
  await popup.close();
  // The page left open notices it too.
  await tileState(page).filter({ hasText: 'Approval requested' }).waitFor();
});

await step('an App Manager denies the request; Slackbot tells the member why', async () => {
  await page.goto(`${SLACK}/_sim/requests`);
  await page.getByRole('textbox', { name: /Reason for/ }).fill(REASON);
  await page.getByRole('button', { name: 'Deny' }).click();
  await page.getByRole('cell', { name: /Denied/ }).waitFor();
  await shot(page, '04-slack-request-denied');
  await page.goto(`${SLACK}/_sim/?member=${ALICE}`);
  await page.getByText('was not approved').waitFor();
  await page.getByText(REASON).waitFor();
  await shot(page, '05-slack-slackbot-denial');
});

await step('the tile still waits (Slack does not tell apps): the admin cancels the request', async () => {
  await page.goto(SETTINGS);
  await tileState(page).filter({ hasText: 'Approval requested' }).waitFor();
  await Promise.all([page.waitForNavigation(), page.click('#cancel-request')]);
  await page.locator('.flash.ok', { hasText: 'The request is cancelled here' }).waitFor();
  await tileState(page).filter({ hasText: 'Inactive' }).waitFor();
  await shot(page, '06-connectors-request-cancelled');
});

await step("ACTIVATE again: Slack's install page shows the member the denial; Cancel there comes back to the LMS", async () => {
  const popup = await clickActivate();
  await popup.getByRole('heading', { name: /Request to install LMS Notifications/ }).waitFor();
  await popup.locator('#denied', { hasText: 'was not approved' }).waitFor();
  await popup.locator('#denied', { hasText: REASON }).waitFor();
  await shot(popup, '07-slack-install-page-denied');
  await Promise.all([popup.waitForURL(SETTINGS), popup.click('button[value=cancel]')]);
  await tileState(popup).filter({ hasText: 'Inactive' }).waitFor();
  await popup.locator('.flash.error', { hasText: 'Cancel' }).first().waitFor();
  await popup.close();
});

await step('the vendor console: making Slack unavailable hides the tile, available shows it again', async () => {
  await page.goto(SETTINGS);
  await Promise.all([page.waitForURL(`${LMS}/vendor`), page.getByRole('link', { name: 'vendor console' }).click()]);
  await page.locator('#vendor-banner', { hasText: 'Vendor console' }).waitFor();
  const row = page.locator('#platforms tr[data-platform="acme"]');
  await row.locator('.availability', { hasText: /^Available$/ }).waitFor();
  await shot(page, '08-vendor-console');
  await Promise.all([
    page.waitForURL(/\/vendor\/slack\/acme\/disable/),
    row.getByRole('button', { name: 'Make Slack unavailable on Acme Academy' }).click(),
  ]);
  await page.getByText('no longer see the Slack tile').waitFor();
  check((await page.locator('#deactivates').count()) === 0, 'nothing to deactivate while Inactive');
  await Promise.all([page.waitForURL(`${LMS}/vendor`), page.click('#confirm-disable')]);
  await page.locator('.flash.ok', { hasText: 'no longer available on Acme Academy' }).waitFor();
  await row.locator('.availability', { hasText: /^Not available$/ }).waitFor();
  await page.goto(SETTINGS);
  await page.locator('#no-connectors').waitFor();
  check((await tileState(page).count()) === 0, 'no tile');
  await shot(page, '09-connectors-unavailable');
  await page.goto(`${LMS}/vendor`);
  await Promise.all([
    page.waitForNavigation(),
    row.getByRole('button', { name: 'Make Slack available on Acme Academy' }).click(),
  ]);
  await page.locator('.flash.ok', { hasText: 'Slack is available on Acme Academy' }).waitFor();
  await page.goto(SETTINGS);
  await tileState(page).filter({ hasText: 'Inactive' }).waitFor();
});

await step('DEACTIVATE asks for confirmation: "No" keeps Slack active, "Yes" deactivates it', async () => {
  await activateAsWorkspaceAdmin();
  await Promise.all([page.waitForURL(/\/settings\/connectors\/slack\/deactivate/), page.click('#deactivate')]);
  await page.getByRole('heading', { name: 'Deactivate Slack?' }).waitFor();
  await page.locator('#effects', { hasText: 'Learners stop receiving messages from the app' }).waitFor();
  await page.locator('#effects', { hasText: 'its conversations with learners are hidden' }).waitFor();
  await shot(page, '10-deactivate-confirmation');
  await Promise.all([page.waitForURL(SETTINGS), page.click('#keep-active')]);
  await tileState(page).filter({ hasText: 'Active' }).waitFor();
  await Promise.all([page.waitForURL(/\/settings\/connectors\/slack\/deactivate/), page.click('#deactivate')]);
  await Promise.all([page.waitForURL(SETTINGS), page.click('#confirm-deactivate')]);
  await page.locator('.flash.ok', { hasText: 'deactivated' }).waitFor();
  await tileState(page).filter({ hasText: 'Inactive' }).waitFor();
  await shot(page, '11-connectors-deactivated');
});

await step('the vendor makes Slack unavailable while it is active: the page says it deactivates it first', async () => {
  await activateAsWorkspaceAdmin();
  await page.goto(`${LMS}/vendor/slack/acme/disable`);
  await page.locator('#deactivates').waitFor();
  await page.locator('#effects', { hasText: 'Simulated Workspace' }).waitFor();
  await shot(page, '12-vendor-disable-active');
  await Promise.all([page.waitForURL(`${LMS}/vendor`), page.click('#confirm-disable')]);
  await page.locator('.flash.ok', { hasText: 'Slack was deactivated on Acme Academy' }).waitFor();
  const state = await (await page.request.get(`${SLACK}/_sim/state`)).json();
  check(state.installations.length > 0 && state.installations.every((i) => !i.active), 'the app is uninstalled');
  await page.goto(SETTINGS);
  await page.locator('#no-connectors').waitFor();
  await page.goto(`${LMS}/vendor`);
  await Promise.all([
    page.waitForNavigation(),
    page.getByRole('button', { name: 'Make Slack available on Acme Academy' }).click(),
  ]);
  await page.goto(SETTINGS);
  await tileState(page).filter({ hasText: 'Inactive' }).waitFor();
});

await step('in French: the tile, its buttons and the vendor console', async () => {
  await Promise.all([page.waitForNavigation(), page.click('#language')]);
  await tileState(page).filter({ hasText: 'Inactif' }).waitFor();
  await page.getByRole('button', { name: /ACTIVER/ }).waitFor();
  await page.getByRole('heading', { name: 'Connecteurs', level: 1 }).waitFor();
  await shot(page, '13-connectors-fr');
  await page.goto(`${LMS}/vendor`);
  await page.locator('#vendor-banner', { hasText: "Console de l'éditeur" }).waitFor();
  await page.getByRole('button', { name: 'Rendre Slack indisponible sur Acme Academy' }).waitFor();
  await shot(page, '14-vendor-console-fr');
  await page.goto(`${LMS}/me/notifications`);
  await page.getByRole('switch', { name: 'Je suis affecté à une session de parcours' }).waitFor();
  await Promise.all([page.waitForNavigation(), page.getByRole('button', { name: 'Enregistrer' }).click()]);
  await page.locator('.flash.ok', { hasText: 'Vos paramètres de notification sont enregistrés.' }).waitFor();
  await shot(page, '15-notifications-fr');
});

await w.finish();
