"""The pid file both test servers write, so start.sh and stop.sh find them."""

import os


def write_pid_file(path):
    # Atomically: start.sh may be reading the file (it wrote the same pid there first).
    with open(path + ".tmp", "w") as f:
        f.write(f"{os.getpid()}\n")
    os.replace(path + ".tmp", path)
