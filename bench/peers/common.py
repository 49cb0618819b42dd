"""What the Python peers share: the job the benchmark hands them, the directory listing, and the report."""

import json
import sys
import time


def load_job(path):
    """The job file the benchmark writes: the Web API's address, a bot token, the learners and the payload."""
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def members_by_email(pages):
    """Slack member ids by lower-cased e-mail address, from an iterable of `users.list` pages."""
    members = {}
    for page in pages:
        for member in page["members"]:
            email = member.get("profile", {}).get("email")
            if email and not member.get("deleted") and not member.get("is_bot"):
                members[email.lower()] = member["id"]
    return members


def report(counts, started):
    """Prints what the run did, as one JSON line the benchmark reads."""
    counts["seconds"] = time.monotonic() - started
    json.dump(counts, sys.stdout)
    sys.stdout.write("\n")
