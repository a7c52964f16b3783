#!/usr/bin/env python3
"""Runs a command on a real pseudo-terminal, as a user at a terminal would, and scripts the session.

Usage: pty_session.py COMMAND... -- STEP...
Steps: expect:TEXT (wait until the terminal shows TEXT), send:HEX (type these bytes, no Enter
added), signal:NAME (send SIGNAME to the command). After the steps it waits for the command to
end and prints one JSON object: exit status, everything the terminal showed, and whether the
terminal's ECHO and ICANON (line editing) flags are on again afterwards.
A step that waits gives up after 240 s (a safety net; the verdict is the content, not the time).
"""
import json, os, pty, select, signal, sys, termios, time

separator = sys.argv.index("--")
command, steps = sys.argv[1:separator], sys.argv[separator + 1:]
pid, master = pty.fork()
if pid == 0:
    # A terminal's programs start with default signal dispositions. An ignored SIGHUP inherited from whoever
    # started the tests (nohup does that) stays ignored across exec, and .NET then never delivers it to Ember.
    for number in (signal.SIGHUP, signal.SIGINT, signal.SIGTERM):
        signal.signal(number, signal.SIG_DFL)
    os.execvp(command[0], command)

shown = bytearray()
failure = None


def pump(timeout):
    ready, _, _ = select.select([master], [], [], timeout)
    if not ready:
        return True
    try:
        data = os.read(master, 4096)
    except OSError:
        return False
    if not data:
        return False
    shown.extend(data)
    return True


for step in steps:
    kind, _, argument = step.partition(":")
    if kind == "expect":
        deadline = time.monotonic() + 240
        while argument.encode() not in shown:
            if time.monotonic() > deadline or not pump(0.5):
                failure = f"never saw {argument!r}"
                break
    elif kind == "send":
        os.write(master, bytes.fromhex(argument))
    elif kind == "signal":
        os.kill(pid, getattr(signal, "SIG" + argument))
    if failure:
        os.kill(pid, signal.SIGKILL)
        break

deadline = time.monotonic() + 240
status = None
while status is None:
    done, raw = os.waitpid(pid, os.WNOHANG)
    if done:
        status = os.waitstatus_to_exitcode(raw)
        break
    if time.monotonic() > deadline:
        os.kill(pid, signal.SIGKILL)
        failure = failure or "the command did not end"
    pump(0.2)
while pump(0.1) and select.select([master], [], [], 0)[0]:
    pass
lflag = termios.tcgetattr(master)[3]
print(json.dumps({
    "status": status,
    "shown": shown.decode("latin-1"),
    "echo": bool(lflag & termios.ECHO),
    "icanon": bool(lflag & termios.ICANON),
    "failure": failure,
}))
