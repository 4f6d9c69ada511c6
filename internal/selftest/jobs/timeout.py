# Outlive the timeout three ways: a child in its own session, a child that
# ignores SIGTERM, and pid 1 itself sleeping. Each sleeps for a marker
# number of seconds from target.json, so the suite can look for survivors
# on the host by command line.
import os
import subprocess

from attack import report, target

markers = [str(m) for m in target()["markers"]]
subprocess.Popen(["/usr/bin/setsid", "/usr/bin/sleep", markers[0]])
subprocess.Popen(["/bin/sh", "-c", f"trap '' TERM; exec /usr/bin/sleep {markers[1]}"])
report("children_started", "OK")
os.execv("/usr/bin/sleep", ["sleep", markers[2]])
