#!/usr/bin/env python3
"""console_pty.py - runs a vsmp command (plain or under mpirun) on a
pseudo-terminal, as `make run` does at a real one, and checks the terminal
behaviour of tests/integration/guests/console.c's run:

  raw mode is on while it runs (no echo, no line editing, no signal keys);
  Ctrl-C reaches the guest as the byte 0x03 and Ctrl-A Ctrl-A as one 0x01;
  then, by MODE:
    keys     Ctrl-A x ends the run with exit status 0;
    sigterm  SIGTERM to the command (what a user's `kill` or a job
             scheduler sends mpirun) ends it;
  and afterwards the terminal has exactly its settings from before.

Usage: console_pty.py MODE TIMEOUT_S COMMAND...
Prints "ok" or "FAIL: why" (with the last output lines); exit status 0/1.
"""
import fcntl
import os
import select
import signal
import subprocess
import sys
import termios
import time

mode, timeout, cmd = sys.argv[1], float(sys.argv[2]), sys.argv[3:]
deadline = time.monotonic() + timeout
master, slave = os.openpty()
before = termios.tcgetattr(slave)


def ctty():
    # the new session's controlling terminal: stdin (the pty slave); the
    # session leader's group is then its foreground group
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)


proc = subprocess.Popen(cmd, stdin=slave, stdout=slave, stderr=slave,
                        start_new_session=True, preexec_fn=ctty)
os.close(slave)
out = b""


def fail(why):
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except OSError:
        pass
    proc.wait()
    tail = out.decode("latin-1").replace("\r", "").splitlines()[-8:]
    print("FAIL: " + why)
    for line in tail:
        print("      | " + line)
    sys.exit(1)


def read_some(wait):
    global out
    r, _, _ = select.select([master], [], [], wait)
    if r:
        try:
            data = os.read(master, 4096)
        except OSError:          # EIO: every slave descriptor closed
            return False
        out += data
        return bool(data)
    return True


def wait_for(text):
    while text.encode() not in out:
        if time.monotonic() > deadline:
            fail("timed out waiting for %r" % text)
        if not read_some(0.1) and text.encode() not in out:
            fail("the output ended before %r" % text)


def settings(fd):
    a = termios.tcgetattr(fd)
    return a[:4] + [a[6][termios.VMIN], a[6][termios.VTIME]]


wait_for("console: open")
lflag = termios.tcgetattr(master)[3]
if lflag & (termios.ICANON | termios.ECHO | termios.ISIG):
    fail("the terminal is not in raw mode while the guest runs (lflag %#x)" % lflag)
os.write(master, b"ab\x03\x01\x01z\n")
wait_for("rx: 61 62 03 01 7a 0a")

if mode == "keys":
    os.write(master, b"\x01x")
elif mode == "sigterm":
    proc.send_signal(signal.SIGTERM)
else:
    fail("unknown mode " + mode)
while proc.poll() is None:
    if time.monotonic() > deadline:
        fail("the run did not end (%s)" % mode)
    read_some(0.05)
while read_some(0.05):
    pass
rc = proc.returncode
if mode == "keys" and rc != 0:
    fail("Ctrl-A x: exit status %d, expected 0" % rc)
if mode == "sigterm" and rc == 0:
    fail("SIGTERM: exit status 0")
want = before[:4] + [before[6][termios.VMIN], before[6][termios.VTIME]]
if settings(master) != want:
    fail("the terminal's settings were not restored: %r, before %r"
         % (settings(master), want))
print("ok")
