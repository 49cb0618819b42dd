"""The first script a developer would write: python slack_sdk's WebClient, one call at a time.

It lists the workspace's members (`users.list`, 200 a page), matches the learners by e-mail address, then for each
learner opens the DM (`conversations.open`) and posts the invitation (`chat.postMessage`) with the payload the
product sends. `--sqlite FILE` also records each outcome in a SQLite table, committed per delivery (WAL,
`synchronous=NORMAL`, as the product's store), so that a crash loses no outcome it reported.

    python slack_sdk_sync.py JOB.json [--sqlite FILE]
"""

import argparse
import sqlite3
import time

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from common import load_job, members_by_email, report


def pages(client):
    cursor = None
    while True:
        page = client.users_list(limit=200, cursor=cursor)
        yield page
        cursor = page.get("response_metadata", {}).get("next_cursor")
        if not cursor:
            return


def open_store(path):
    db = sqlite3.connect(path)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    db.execute(
        "CREATE TABLE IF NOT EXISTS outcomes (learner TEXT PRIMARY KEY, status TEXT NOT NULL, detail TEXT)"
    )
    db.commit()
    return db


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("job")
    parser.add_argument("--sqlite", help="records each outcome in this SQLite file")
    args = parser.parse_args()
    job = load_job(args.job)
    db = open_store(args.sqlite) if args.sqlite else None
    client = WebClient(token=job["token"], base_url=job["api_url"])
    started = time.monotonic()
    members = members_by_email(pages(client))
    counts = {"sent": 0, "failed": 0, "unmatched": 0}
    for learner in job["learners"]:
        member = members.get(learner["email"].lower())
        if member is None:
            status, detail = "unmatched", None
        else:
            try:
                channel = client.conversations_open(users=member)["channel"]["id"]
                ts = client.chat_postMessage(channel=channel, **job["payload"])["ts"]
                status, detail = "sent", ts
            except SlackApiError as e:
                status, detail = "failed", e.response.get("error")
                errors = counts.setdefault("errors", {})
                errors[detail] = errors.get(detail, 0) + 1
        counts[status] += 1
        if db is not None:
            db.execute(
                "INSERT OR REPLACE INTO outcomes (learner, status, detail) VALUES (?, ?, ?)",
                (learner["id"], status, detail),
            )
            db.commit()
    report(counts, started)


if __name__ == "__main__":
    main()
