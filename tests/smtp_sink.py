#!/usr/bin/env python3
"""A real SMTP server on loopback for the mail tests (aiosmtpd).

Every message it accepts is written to DIR as NNNN.eml (the raw bytes, as
received) with NNNN.rcpt beside it (the envelope recipients). It prints
"ready" once it listens. With --die-after N it exits abruptly right after
accepting its Nth message (its reply sent; a message arriving meanwhile is
not accepted), to play an SMTP outage in the middle of a batch.
"""

import argparse
import asyncio
import os
import sys
import time

from aiosmtpd.controller import Controller


class Store:
    def __init__(self, directory, die_after, delay_ms):
        self.directory = directory
        self.die_after = die_after
        self.delay = delay_ms / 1000.0
        self.accepted = 0

    async def handle_DATA(self, server, session, envelope):
        if self.die_after and self.accepted >= self.die_after:
            # A message after the last: crash before accepting it.
            os._exit(0)
        if self.delay:
            # A slow server: the message is received, the reply comes later.
            await asyncio.sleep(self.delay)
        existing = [n for n in os.listdir(self.directory) if n.endswith(".eml")]
        name = os.path.join(self.directory, "%04d" % (len(existing) + 1))
        with open(name + ".tmp", "wb") as f:
            f.write(envelope.original_content)
        with open(name + ".rcpt", "w") as f:
            f.write("\n".join(envelope.rcpt_tos))
        os.rename(name + ".tmp", name + ".eml")
        self.accepted += 1
        if self.die_after and self.accepted >= self.die_after:
            # Reply first, then vanish.
            asyncio.get_running_loop().call_later(0.05, os._exit, 0)
        return "250 Message accepted for delivery"


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--dir", required=True)
    p.add_argument("--die-after", type=int, default=0)
    p.add_argument("--delay-ms", type=int, default=0)
    a = p.parse_args()
    os.makedirs(a.dir, exist_ok=True)
    c = Controller(Store(a.dir, a.die_after, a.delay_ms), hostname="127.0.0.1", port=a.port,
                   decode_data=False)
    c.start()
    print("ready", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        c.stop()


if __name__ == "__main__":
    sys.exit(main())
