#!/usr/bin/env python3
"""A real SMTP server for tests (aiosmtpd): accepts mail on 127.0.0.1:PORT and appends each
message as one JSON line {"from", "to", "data"} to MAILBOX. Recipients whose local part starts
with "refuse" are refused with 550, as a server refuses an unknown or bounced address.
Prints "ready" on stdout once it listens; runs until killed."""

import argparse
import json
import sys
import time

from aiosmtpd.controller import Controller


class Sink:
    def __init__(self, mailbox):
        self.mailbox = mailbox

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.split("@")[0].lower().startswith("refuse"):
            return "550 5.1.1 mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        with open(self.mailbox, "a", encoding="utf-8") as f:
            f.write(json.dumps({
                "from": envelope.mail_from,
                "to": envelope.rcpt_tos,
                "data": envelope.content.decode("utf-8", "replace"),
            }) + "\n")
        return "250 Message accepted"


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--mailbox", required=True)
    a = p.parse_args()
    open(a.mailbox, "a").close()
    c = Controller(Sink(a.mailbox), hostname="127.0.0.1", port=a.port)
    c.start()
    print("ready", flush=True)
    try:
        while True:
            time.sleep(3600)
    finally:
        c.stop()


if __name__ == "__main__":
    sys.exit(main())
