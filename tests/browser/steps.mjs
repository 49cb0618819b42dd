// "Slack message" steps of a path, as an author manages them, against `lms-harness serve`: a date already past is
// refused; a step is added, edited and paused; while paused it sends nothing although it is due (a step due at the
// same moment and not paused goes out meanwhile); resumed, it goes out and says so; once sent it can no longer be
// edited; a step is deleted, and what it sent stays in the delivery log.
//
// Run by crates/lms-harness/tests/browser.rs; screenshots in tests/browser/artifacts/steps/.

import { TIMEOUT, activateAsAdmin, check, openWalk, actAs as actAsIn } from './lib.mjs';

const w = await openWalk(import.meta.url);
const { LMS, SLACK, context, page, shot } = w;
const step = (name, fn) => w.step(name, fn);
const actAs = (userId) => actAsIn(page, userId);

const SESSION_TITLE = 'Onboarding path — December cohort';
const BOB = 'U0BOB00001'; // learner-2
const HELD = 'Week 2: your first review';
const CONTROL = 'Welcome aboard';

const path = () => page.locator('#path-onboarding');
const addForm = () => path().locator('details.add-step form');
const stepItem = (title) => path().locator('li.step', { hasText: `Slack message: ${title}` });

/// `datetime-local`'s value for now plus `minutes`, in the author's zone (the browser's clock and zone are the
/// server's: both run here; the author's zone is Europe/London, so the date is made in it).
function localInLondon(minutes) {
  const d = new Date(Date.now() + minutes * 60_000);
  const parts = Object.fromEntries(
    new Intl.DateTimeFormat('en-GB', {
      timeZone: 'Europe/London', year: 'numeric', month: '2-digit', day: '2-digit',
      hour: '2-digit', minute: '2-digit', hourCycle: 'h23',
    }).formatToParts(d).map((p) => [p.type, p.value]),
  );
  return `${parts.year}-${parts.month}-${parts.day}T${parts.hour}:${parts.minute}`;
}

/// Fills a step form: a title, a text, and either a date (`at`) or minutes after enrolment (`after`).
async function fillStep(form, { title, text, at, after }) {
  await form.getByLabel('Title (the e-mail subject)').fill(title);
  await form.getByLabel('Message').fill(text);
  if (at !== undefined) {
    await form.getByLabel('On', { exact: true }).check();
    await form.locator('input[type=datetime-local]').fill(at);
  } else {
    await form.getByLabel("After each learner's enrolment:").check();
    await form.getByLabel('How long after enrolment').fill(String(after));
    await form.getByLabel('Unit').selectOption({ label: 'minutes' });
  }
}

/// Submits a form and waits for the page it leads to.
async function submit(form, name) {
  await Promise.all([page.waitForNavigation(), form.getByRole('button', { name }).click()]);
}

/// Waits (bounded) until the step titled `title` has the status `status` on the paths page, reloading it in the
/// background; then shows the page.
async function waitForStatus(title, status) {
  await page.waitForFunction(
    ([t, s]) => {
      const p = (window.__statusPoll ??= {});
      const key = `${t}|${s}`;
      p[key] ??= { busy: false, done: false };
      const k = p[key];
      if (!k.busy && !k.done) {
        k.busy = true;
        fetch('/paths', { cache: 'no-store' })
          .then((r) => r.text())
          .then((html) => {
            const doc = new DOMParser().parseFromString(html, 'text/html');
            const li = [...doc.querySelectorAll('#path-onboarding li.step')]
              .find((el) => el.querySelector('.step-head strong')?.textContent === `Slack message: ${t}`);
            k.done = li?.dataset.status === s;
          })
          .finally(() => { k.busy = false; });
      }
      return k.done;
    },
    [title, status],
    { polling: 250, timeout: TIMEOUT },
  );
  await page.goto(`${LMS}/paths`);
  await path().locator(`li.step[data-status="${status}"]`, { hasText: `Slack message: ${title}` }).waitFor();
}

await step('the admin activates Slack and invites the learners, who are enrolled in the path', async () => {
  await activateAsAdmin(page, context, LMS);
  await page.goto(`${LMS}/paths`);
  await Promise.all([
    page.waitForURL(/\/sessions\/[^/]+\/invite$/),
    page.getByRole('button', { name: `Invite learners to “${SESSION_TITLE}”` }).click(),
  ]);
  await Promise.all([page.waitForURL(/\/notifications\/invite-/), page.locator('#send').click()]);
  await page.locator('#deliveries tr[data-user="learner-2"] .status', { hasText: 'sent' }).waitFor();
});

await step('a step dated in the past is refused, saying why; nothing is added', async () => {
  await page.goto(`${LMS}/`);
  await actAs('author');
  await page.waitForURL(`${LMS}/paths`);
  await page.getByText('A date already past is refused.').waitFor();
  await fillStep(addForm(), { title: HELD, text: 'Too late', at: localInLondon(-24 * 60) });
  await submit(addForm(), 'Add the step');
  await page.locator('.flash.error', { hasText: 'This date is already past' }).waitFor();
  check((await stepItem(HELD).count()) === 0, 'nothing added');
  await shot(page, '01-past-date-refused');
});

await step('a step dated tomorrow is added: pending', async () => {
  await fillStep(addForm(), { title: HELD, text: 'Book your first review.', at: localInLondon(24 * 60) });
  await submit(addForm(), 'Add the step');
  await page.locator('.flash.ok', { hasText: 'was added' }).waitFor();
  const item = stepItem(HELD);
  await item.locator('.badge', { hasText: 'Pending' }).waitFor();
  await item.getByText(/^Sent to 0 of 4 enrolled learners/).waitFor();
  await shot(page, '02-step-added');
});

await step('paused, then edited to be due at once: the page says it sends nothing until resumed', async () => {
  await submit(stepItem(HELD), 'Pause');
  await page.locator('.flash.ok', { hasText: 'is paused' }).waitFor();
  await stepItem(HELD).locator('.badge', { hasText: 'Paused' }).waitFor();
  const item = stepItem(HELD);
  await item.locator('summary', { hasText: 'Edit' }).click();
  const form = item.locator('form.step-form');
  check((await form.getByLabel('Title (the e-mail subject)').inputValue()) === HELD, 'the form holds the step');
  await fillStep(form, { title: HELD, text: 'Book your first review with your mentor.', after: 0 });
  await shot(page, '03-step-edit-form');
  await submit(form, 'Save the step');
  await page.locator('.flash.ok', { hasText: 'was saved' }).waitFor();
  await stepItem(HELD).getByText("0 minutes after each learner's enrolment").waitFor();
  await stepItem(HELD).getByText('nothing goes out until it is resumed').waitFor();
  await shot(page, '04-step-paused-and-due');
});

await step('while it is paused, a step due at the same moment goes out, and the paused one sends nothing', async () => {
  await fillStep(addForm(), { title: CONTROL, text: 'Glad to have you with us.', after: 0 });
  await submit(addForm(), 'Add the step');
  await waitForStatus(CONTROL, 'sent');
  const held = stepItem(HELD);
  check((await held.getAttribute('data-status')) === 'paused', 'still paused');
  await held.getByText(/^Sent to 0 of 4 enrolled learners/).waitFor();
  await stepItem(CONTROL).getByText('It has started sending: it can no longer be edited.').waitFor();
  await shot(page, '05-paused-step-sent-nothing');
});

await step('resumed: the paused step goes out, with its count per learner', async () => {
  await submit(stepItem(HELD), 'Resume');
  await page.locator('.flash.ok', { hasText: 'is resumed' }).waitFor();
  await waitForStatus(HELD, 'sent');
  const held = stepItem(HELD);
  await held.locator('.badge', { hasText: 'Sent' }).waitFor();
  const progress = await held.locator('.progress').innerText();
  // Four learners are enrolled; one has no Slack account and is skipped.
  check(progress === 'Sent to 3 of 4 enrolled learners · 1 skipped', `per learner: ${progress}`);
  check((await held.locator('details.edit').count()) === 0, 'no edit once sent');
  await shot(page, '06-step-resumed-and-sent');
  await page.goto(`${SLACK}/_sim/?member=${BOB}`);
  await page.locator('nav.sidebar').getByRole('link', { name: 'LMS Notifications' }).click();
  await page.locator('li.msg', { hasText: 'Book your first review with your mentor.' }).waitFor();
  await shot(page, '07-step-in-slack');
});

await step('a step is deleted; what it sent stays in the delivery log', async () => {
  await page.goto(`${LMS}/paths`);
  const item = stepItem(CONTROL);
  const log = await item.getByRole('link', { name: 'Delivery log' }).getAttribute('href');
  await item.locator('summary', { hasText: 'Delete…' }).click();
  await submit(item, 'Delete this step');
  await page.locator('.flash.ok', { hasText: 'was deleted' }).waitFor();
  check((await stepItem(CONTROL).count()) === 0, 'gone from the path');
  check((await stepItem(HELD).count()) === 1, 'the other step stays');
  await shot(page, '08-step-deleted');
  await page.goto(`${LMS}${log}`);
  await page.getByRole('heading', { name: CONTROL, level: 1 }).waitFor();
  await page.locator('#deliveries tr[data-user="learner-2"] .status', { hasText: 'sent' }).waitFor();
});

await w.finish();
