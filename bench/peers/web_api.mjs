// The node script: @slack/web-api's WebClient, `--concurrency` learners at a time (8 by default).
//
// The same work as the Python peers: list the members (`users.list`, 200 a page), match the learners by e-mail
// address, then per learner `conversations.open` and `chat.postMessage` with the product's payload.
//
//     node web_api.mjs JOB.json [--concurrency 8]

import { readFileSync } from 'node:fs';
import { WebClient } from '@slack/web-api';

const [jobPath, ...rest] = process.argv.slice(2);
const flag = rest.indexOf('--concurrency');
const concurrency = flag >= 0 ? Number(rest[flag + 1]) : 8;
const job = JSON.parse(readFileSync(jobPath, 'utf8'));
const client = new WebClient(job.token, { slackApiUrl: job.api_url });

const started = performance.now();
const members = new Map();
for await (const page of client.paginate('users.list', { limit: 200 })) {
  for (const m of page.members) {
    const email = m.profile?.email;
    if (email && !m.deleted && !m.is_bot) members.set(email.toLowerCase(), m.id);
  }
}
const counts = { sent: 0, failed: 0, unmatched: 0 };
let next = 0;
async function worker() {
  while (next < job.learners.length) {
    const learner = job.learners[next++];
    const member = members.get(learner.email.toLowerCase());
    if (member === undefined) {
      counts.unmatched += 1;
      continue;
    }
    try {
      const opened = await client.conversations.open({ users: member });
      await client.chat.postMessage({ channel: opened.channel.id, ...job.payload });
      counts.sent += 1;
    } catch (e) {
      counts.failed += 1;
      const code = e.data?.error ?? e.code ?? String(e);
      counts.errors = counts.errors ?? {};
      counts.errors[code] = (counts.errors[code] ?? 0) + 1;
    }
  }
}
await Promise.all(Array.from({ length: concurrency }, worker));
counts.seconds = (performance.now() - started) / 1000;
console.log(JSON.stringify(counts));
