"""The asynchronous script: python slack_sdk's AsyncWebClient, `--concurrency` learners at a time (8 by default).

The same work as `slack_sdk_sync.py`: list the members, match by e-mail address, then per learner
`conversations.open` and `chat.postMessage` with the product's payload.

    python slack_sdk_async.py JOB.json [--concurrency 8]
"""

import argparse
import asyncio
import time

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from common import load_job, members_by_email, report


async def pages(client):
    found = []
    cursor = None
    while True:
        page = await client.users_list(limit=200, cursor=cursor)
        found.append(page)
        cursor = page.get("response_metadata", {}).get("next_cursor")
        if not cursor:
            return found


async def run(job, concurrency):
    client = AsyncWebClient(token=job["token"], base_url=job["api_url"])
    started = time.monotonic()
    members = members_by_email(await pages(client))
    counts = {"sent": 0, "failed": 0, "unmatched": 0}
    queue = asyncio.Queue()
    for learner in job["learners"]:
        queue.put_nowait(learner)

    async def worker():
        while not queue.empty():
            learner = queue.get_nowait()
            member = members.get(learner["email"].lower())
            if member is None:
                counts["unmatched"] += 1
                continue
            try:
                opened = await client.conversations_open(users=member)
                await client.chat_postMessage(channel=opened["channel"]["id"], **job["payload"])
                counts["sent"] += 1
            except SlackApiError as e:
                counts["failed"] += 1
                errors = counts.setdefault("errors", {})
                code = e.response.get("error")
                errors[code] = errors.get(code, 0) + 1

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    report(counts, started)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("job")
    parser.add_argument("--concurrency", type=int, default=8)
    args = parser.parse_args()
    asyncio.run(run(load_job(args.job), args.concurrency))


if __name__ == "__main__":
    main()
