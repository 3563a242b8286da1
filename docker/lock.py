"""`lock.py LOCKFILE COMMAND...`: run COMMAND holding an exclusive flock on LOCKFILE.

Busybox sh on Alpine has no dependable flock(1), and the lock must work before the virtual environment
exists, so this runs on the image's system Python. The command is exec'd with the locked descriptor
inherited: the lock is held exactly as long as the command runs and is released by the kernel however it
ends (no stale lock after a crash or `docker kill`).
"""

import fcntl
import os
import sys


def main() -> None:
    if len(sys.argv) < 3:
        sys.exit("usage: lock.py LOCKFILE COMMAND...")
    path, command = sys.argv[1], sys.argv[2:]
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    fcntl.flock(fd, fcntl.LOCK_EX)
    os.set_inheritable(fd, True)
    os.execvp(command[0], command)


if __name__ == "__main__":
    main()
