"""What the command-line test scripts share: cases that run as they are declared (@test),
expect() for their checks, and the "N passed, M failed" summary with its exit status.

  from harness import Failure, expect, test, finish
  harness.name_filter = sys.argv[2]   # optional: run only the cases whose name contains it
  ENV = harness.load_env()             # the test servers' ports and files (start.sh's env file)
"""

import os
import sys
import time
import traceback

name_filter = ""
passed = 0
failed = 0


def load_env():
    """The KEY=VALUE lines of the file COURIER_TEST_ENV names (tests/servers/start.sh writes it)."""
    path = os.environ.get("COURIER_TEST_ENV")
    if not path:
        sys.exit("COURIER_TEST_ENV is not set (run tests/servers/start.sh and point it at STATE/env)")
    env = {}
    with open(path) as f:
        for line in f:
            key, _, value = line.strip().partition("=")
            if key:
                env[key] = value
    return env


class Failure(Exception):
    pass


def expect(cond, what, detail=""):
    if not cond:
        raise Failure(what + (("\n      " + str(detail)[:1500]) if detail != "" else ""))


def test(fn):
    """Runs fn now (unless filtered out) and records the outcome."""
    global passed, failed
    name = fn.__name__
    if name_filter and name_filter not in name:
        return fn
    start = time.monotonic()
    try:
        fn()
        passed += 1
        print("ok    %-50s %5.2fs" % (name, time.monotonic() - start), flush=True)
    except Failure as e:
        failed += 1
        print("FAIL  %s: %s" % (name, e), flush=True)
    except Exception:
        failed += 1
        print("FAIL  %s: unexpected exception\n%s" % (name, traceback.format_exc()), flush=True)
    return fn


def finish():
    print("%d passed, %d failed" % (passed, failed))
    sys.exit(1 if failed else 0)
