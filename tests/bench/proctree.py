#!/usr/bin/python3
"""Process-tree helpers for `make bench`: a server's processes and memory.

Owns: finding every descendant of a PID through /proc/*/stat, summing
VmRSS (/proc/PID/status) and Pss (/proc/PID/smaps_rollup) over them, and
stopping a server with everything it started.
"""

import os
import signal
import subprocess
import time


def _ppid(pid):
	try:
		with open("/proc/%d/stat" % pid, "rb") as f:
			data = f.read()
	except OSError:
		return None
	# comm may hold spaces or parens: the fields follow the last ')'.
	rest = data[data.rfind(b")") + 2:].split()
	if len(rest) < 2 or rest[0] == b"Z":
		return None
	return int(rest[1])


def tree(root):
	"""root and all its live descendants."""
	children = {}
	for name in os.listdir("/proc"):
		if not name.isdigit():
			continue
		pid = int(name)
		pp = _ppid(pid)
		if pp is not None:
			children.setdefault(pp, []).append(pid)
	out = []
	todo = [root]
	while todo:
		p = todo.pop()
		if p in out:
			continue
		if _ppid(p) is None and p != root:
			continue
		out.append(p)
		todo.extend(children.get(p, []))
	return [p for p in out if alive(p)]


def alive(pid):
	return _ppid(pid) is not None


def _field_kb(path, key):
	try:
		with open(path) as f:
			for line in f:
				if line.startswith(key):
					return int(line.split()[1])
	except (OSError, ValueError, IndexError):
		pass
	return 0


def memory(root):
	"""(rss_kb, pss_kb, [(pid, name, rss_kb)]) summed over root's tree."""
	rss = 0
	pss = 0
	procs = []
	for p in tree(root):
		r = _field_kb("/proc/%d/status" % p, "VmRSS:")
		rss += r
		pss += _field_kb("/proc/%d/smaps_rollup" % p, "Pss:")
		try:
			with open("/proc/%d/comm" % p) as f:
				name = f.read().strip()
		except OSError:
			name = "?"
		procs.append((p, name, r))
	return rss, pss, procs


def stop(proc, term_wait=10):
	"""SIGTERM to proc (a Popen), SIGKILL after term_wait s; then waits up
	to 5 s for the processes it started and SIGKILLs those still there."""
	pids = tree(proc.pid)
	if proc.poll() is None:
		try:
			os.kill(proc.pid, signal.SIGTERM)
		except ProcessLookupError:
			pass
		try:
			proc.wait(term_wait)
		except subprocess.TimeoutExpired:
			os.kill(proc.pid, signal.SIGKILL)
			proc.wait(5)
	deadline = time.time() + 5
	for p in pids:
		if p == proc.pid:
			continue
		while alive(p) and time.time() < deadline:
			time.sleep(0.05)
		if alive(p):
			try:
				os.kill(p, signal.SIGKILL)
			except ProcessLookupError:
				pass
