#!/usr/bin/python3
"""`make bench`: popbridge's IMAP server against Dovecot on the same mail.

Owns: the bench run.  Makes (or reuses) the corpus, then for each server in
turn (popbridge, then a private Dovecot; never both at once) starts it on a
fresh store, loads the corpus, runs every measurement with Python's imaplib
over loopback, stops it, and finally prints one table (measurement |
popbridge | dovecot | ratio popbridge/dovecot, lower is better) and writes
tests/bench/out/results.json.  Fast measurements are the median of 3 runs.
Then the poller line (pop3_bench.py): popbridge's POP3 poller against
fetchmail, both pulling the same 5,000 messages from a private Dovecot
POP3S server; its own table follows the IMAP one.
A popbridge failure is reported in the table as "failed: reason"; the run
goes on.  No server process outlives the bench (try/finally and atexit).

Usage: bench.py [--popbridge PATH] [--count N | --quick] [--only NAME]
                [--seed S] [--runs R] [--dovecot-format sdbox|maildir]
                [--dovecot-load import|append] [--pop3-count N]
--only popbridge|dovecot: one IMAP server, no poller line; --only pop3:
the poller line alone.
"""

import argparse
import atexit
import imaplib
import json
import os
import random
import re
import signal
import statistics
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import dovecot  # noqa: E402
import gen_corpus  # noqa: E402
import pop3_bench  # noqa: E402
import popbridge_srv  # noqa: E402
import proctree  # noqa: E402

FETCH_ITEMS = "(UID FLAGS INTERNALDATE RFC822.SIZE ENVELOPE BODYSTRUCTURE)"
FETCH_HEAD_RE = re.compile(rb"^\d+ \(")
N_PEEK = 200
N_APPEND = 1000
N_CONNS = 20

_live = []


def _stop_all():
	while _live:
		srv = _live.pop()
		try:
			srv.stop()
		except Exception as e:
			sys.stderr.write("bench: stopping %s: %s\n" % (srv.name, e))


def _on_term(signum, frame):
	sys.exit(128 + signum)


def log(msg):
	sys.stderr.write("bench: %s\n" % msg)
	sys.stderr.flush()


class Failed(Exception):
	pass


def connect(srv, select=True, timeout=300):
	c = imaplib.IMAP4("127.0.0.1", srv.port, timeout=timeout)
	typ, data = c.login(dovecot.USER, dovecot.PASSWORD)
	if typ != "OK":
		raise Failed("LOGIN %s %r" % (typ, data))
	if select:
		typ, data = c.select("INBOX")
		if typ != "OK":
			raise Failed("SELECT %s %r" % (typ, data))
	return c


def logout(c):
	try:
		c.logout()
	except Exception:
		pass


def count_fetch(data):
	n = 0
	for item in data or []:
		head = item[0] if isinstance(item, tuple) else item
		if isinstance(head, bytes) and FETCH_HEAD_RE.match(head):
			n += 1
	return n


def timed(fn):
	t0 = time.perf_counter()
	r = fn()
	return time.perf_counter() - t0, r


class Runner:
	"""Runs every measurement against one started, loaded server."""

	def __init__(self, srv, corpus_dir, index, runs):
		self.srv = srv
		self.dir = corpus_dir
		self.index = index
		self.count = index["count"]
		self.runs = runs
		self.res = {}
		self.notes = []

	def record(self, key, fn):
		"""fn returns {"value":..., "unit":..., ...}; errors recorded."""
		try:
			r = fn()
		except Exception as e:
			reason = "%s: %s" % (type(e).__name__, e) \
				if not isinstance(e, Failed) else str(e)
			reason = reason.replace("\n", " ")[:160]
			if self.srv.proc is not None and \
					self.srv.proc.poll() is not None:
				reason = "server died (status %s); %s" % (
					self.srv.proc.returncode, reason)
			r = {"error": reason}
			log("%s %s failed: %s" % (self.srv.name, key, reason))
		else:
			log("%s %s: %s" % (self.srv.name, key, fmt_value(r)))
		self.res[key] = r
		return r

	def median_runs(self, fn, unit="ms", warmup=False):
		"""Median of self.runs timed runs; with warmup, one run first
		whose time is kept apart as "first"."""
		times = []
		extra = {}
		first = None
		if warmup:
			first, info = fn()
			if info:
				extra.update(info)
		for _ in range(self.runs):
			dt, info = fn()
			times.append(dt)
			if info:
				extra.update(info)
		scale = 1000.0 if unit == "ms" else 1.0
		out = {"value": statistics.median(times) * scale, "unit": unit,
		       "runs": [round(t * scale, 3) for t in times]}
		if first is not None:
			out["first"] = round(first * scale, 3)
		out.update(extra)
		return out

	def check(self, what, got, want):
		if got != want:
			note = "%s: %s: got %s, expected %s" % (
				self.srv.name, what, got, want)
			if note not in self.notes:
				self.notes.append(note)
				log(note)
			return {"check": "got %s, expected %s" % (got, want)}
		return {}

	# -- the measurements -------------------------------------------------

	def memory(self):
		time.sleep(1.0)
		rss, pss, procs = proctree.memory(self.srv.pid)
		if rss == 0:
			raise Failed("no process to measure")
		return {"value": rss / 1024.0, "unit": "MB",
			"pss_mb": round(pss / 1024.0, 2),
			"processes": ["%s(%d) %d kB" % (n, p, r)
				      for p, n, r in procs]}

	def select(self):
		def one():
			c = connect(self.srv, select=False)
			try:
				dt, (typ, data) = timed(lambda: c.select("INBOX"))
			finally:
				logout(c)
			if typ != "OK":
				raise Failed("SELECT %s %r" % (typ, data))
			return dt, self.check("SELECT EXISTS", int(data[0]),
					      self.count)
		return self.median_runs(one)

	def fetch_all(self, c):
		def one():
			dt, (typ, data) = timed(
				lambda: c.uid("FETCH", "1:*", FETCH_ITEMS))
			if typ != "OK":
				raise Failed("UID FETCH %s %r" % (typ, data[:1]))
			return dt, self.check("UID FETCH 1:* responses",
					      count_fetch(data), self.count)
		return self.median_runs(one, warmup=True)

	def fetch_all_raw(self):
		"""The same FETCH read off a plain socket up to the tagged OK:
		the server's share without imaplib's parsing."""
		import socket
		s = socket.create_connection(("127.0.0.1", self.srv.port), 30)
		s.settimeout(300)
		f = s.makefile("rb", buffering=1 << 16)

		def command(tag, line):
			s.sendall(tag + b" " + line + b"\r\n")
			lines = 0
			while True:
				r = f.readline()
				if not r:
					raise Failed("connection closed")
				if r.startswith(tag + b" "):
					if not r.startswith(tag + b" OK"):
						raise Failed(r.decode("latin-1")[:100])
					return lines
				lines += 1
				m = re.search(rb"\{(\d+)\}\r\n$", r)
				if m:
					f.read(int(m.group(1)))
		try:
			f.readline()
			command(b"L", ("LOGIN %s %s" % (dovecot.USER,
						       dovecot.PASSWORD)).encode())
			command(b"S", b"SELECT INBOX")
			n = [0]

			def one():
				dt, n[0] = timed(lambda: command(
					b"F", b"UID FETCH 1:* " + FETCH_ITEMS.encode()))
				return dt, {}
			r = self.median_runs(one, warmup=True)
			r["lines"] = n[0]
			command(b"Z", b"LOGOUT")
			return r
		finally:
			s.close()

	def search(self, c, key, arg, want):
		def one():
			dt, (typ, data) = timed(lambda: c.uid("SEARCH", key, arg))
			if typ != "OK":
				raise Failed("UID SEARCH %s %s %r" % (typ, key, data))
			n = len((data[0] or b"").split()) if data else 0
			return dt, self.check("UID SEARCH %s %s hits" % (key, arg),
					      n, want)
		return self.median_runs(one, warmup=True)

	def peek(self, c, uids):
		rng = random.Random(4242)
		picks = [rng.randrange(len(uids)) for _ in range(N_PEEK)]
		msgs = self.index["messages"]

		def one():
			bad = 0
			bare_lf = 0
			total = 0
			t0 = time.perf_counter()
			for pos in picks:
				typ, data = c.uid("FETCH", uids[pos], "BODY.PEEK[]")
				if typ != "OK":
					raise Failed("UID FETCH BODY.PEEK[] %s %r" %
						     (typ, data[:1]))
				lit = None
				for item in data:
					if isinstance(item, tuple):
						lit = item[1]
						break
				if lit is None:
					raise Failed("no literal in BODY[] answer")
				total += len(lit)
				if pos < len(msgs) and len(lit) != msgs[pos][2]:
					bad += 1
					if b"\n" in lit.replace(b"\r\n", b""):
						bare_lf += 1
			dt = time.perf_counter() - t0
			info = {"bytes": total}
			if bad:
				info.update(self.check(
					"BODY[] of the size of the corpus message "
					"with CRLF line ends (of %d; %d "
					"have bare LF line ends)" % (
						N_PEEK, bare_lf),
					N_PEEK - bad, N_PEEK))
			return dt, info
		return self.median_runs(one, warmup=True)

	def append(self, c):
		msgs = self.index["messages"]
		step = max(1, len(msgs) // N_APPEND)
		entries = msgs[::step][:N_APPEND]
		mbox = open(os.path.join(self.dir, "INBOX.mbox"), "rb")
		bodies = [(gen_corpus.read_message(self.dir, e, mbox), e[3])
			  for e in entries]
		mbox.close()
		nbytes = sum(len(b) + b.count(b"\n") for b, _ in bodies)

		def one():
			folder = "BenchAppend%d" % random.randrange(1 << 30)
			typ, data = c.create(folder)
			if typ != "OK":
				raise Failed("CREATE %s %r" % (typ, data))
			try:
				t0 = time.perf_counter()
				for body, idate in bodies:
					typ, data = c.append(
						folder, None,
						'"%s"' % dovecot.internaldate(idate),
						body)
					if typ != "OK":
						raise Failed("APPEND %s %r" %
							     (typ, data))
				dt = time.perf_counter() - t0
				typ, data = c.status(folder, "(MESSAGES)")
				m = re.search(rb"MESSAGES (\d+)", data[0] or b"")
				info = self.check("STATUS MESSAGES after APPEND",
						  int(m.group(1)) if m else None,
						  len(bodies))
			finally:
				c.delete(folder)
			return dt, info
		r = self.median_runs(one, unit="s")
		r["msgs_per_s"] = round(len(bodies) / r["value"], 1)
		r["mbytes"] = round(nbytes / 1e6, 1)
		return r

	def conns(self):
		cs = []
		try:
			for i in range(N_CONNS):
				try:
					cs.append(connect(self.srv, select=True,
							  timeout=60))
				except Exception as e:
					raise Failed("connection %d of %d: %s" %
						     (i + 1, N_CONNS, e))
			r = self.memory()
			r["connections"] = len(cs)
			return r
		finally:
			for c in cs:
				logout(c)

	def run_all(self):
		idx = self.index
		self.record("rss_idle", self.memory)
		self.record("select", self.select)
		c = None
		try:
			c = connect(self.srv)
			typ, data = c.uid("SEARCH", "ALL")
			uids = (data[0] or b"").split() if typ == "OK" else []
			if len(uids) != self.count:
				self.check("UID SEARCH ALL", len(uids), self.count)
			self.record("fetch_all", lambda: self.fetch_all(c))
			self.record("fetch_all_raw", self.fetch_all_raw)
			self.record("search_body", lambda: self.search(
				c, "BODY", idx["marker_word"], idx["marker_count"]))
			self.record("search_from", lambda: self.search(
				c, "FROM", idx["from_search"], idx["from_count"]))
			if uids:
				self.record("peek200", lambda: self.peek(c, uids))
			else:
				self.res["peek200"] = {"error": "no UIDs"}
			self.record("append1000", lambda: self.append(c))
		except Exception as e:
			for k in ("fetch_all", "fetch_all_raw", "search_body", "search_from",
				  "peek200", "append1000"):
				self.res.setdefault(k, {"error": "connect: %s" % e})
		finally:
			if c is not None:
				logout(c)
		self.record("rss_idle_after", self.memory)
		self.record("rss_20conns", self.conns)
		return self.res


def run_server(srv, corpus_dir, index, runs):
	out = {"server": srv.name, "results": {}, "notes": [],
	       "loadavg_before": round(os.getloadavg()[0], 2)}
	_live.append(srv)
	try:
		try:
			srv.start()
		except Exception as e:
			out["error"] = "start: %s" % e
			log("%s start failed: %s" % (srv.name, e))
			return out
		out["describe"] = srv.describe()
		log("%s: loading %d messages" % (srv.describe(), index["count"]))
		load = {}
		try:
			srv.load(corpus_dir, index)
			load = {"value": srv.load_seconds, "unit": "s",
				"method": srv.load_method,
				"msgs_per_s": round(index["count"] /
						    srv.load_seconds, 1)}
			log("%s load: %.1f s (%s)" % (srv.name, srv.load_seconds,
						    srv.load_method))
		except Exception as e:
			load = {"error": str(e)[:160]}
			log("%s load failed: %s" % (srv.name, e))
		try:
			srv.serve()
		except Exception as e:
			out["error"] = str(e)[:300]
			out["results"]["load"] = load
			log("%s serve failed: %s" % (srv.name, e))
			return out
		if "error" in load and srv.name == "popbridge":
			# Fall back to loading through IMAP so the rest still runs.
			try:
				t0 = time.perf_counter()
				dovecot.append_pipelined(
					srv.port, dovecot.USER, dovecot.PASSWORD,
					"INBOX", corpus_dir, index["messages"])
				load["fallback_append_s"] = round(
					time.perf_counter() - t0, 1)
				out["notes"].append(
					"%s: import failed; loaded through IMAP "
					"APPEND instead (%.1f s)" % (
						srv.name, load["fallback_append_s"]))
			except Exception as e:
				load["fallback_append_error"] = str(e)[:160]
				out["notes"].append(
					"%s: import failed and so did loading "
					"through APPEND: %s" % (srv.name, e))
		r = Runner(srv, corpus_dir, index, runs)
		res = r.run_all()
		res["load"] = load
		out["results"] = res
		out["notes"] += r.notes
		if srv.proc is not None and srv.proc.poll() is not None:
			out["error"] = "server exited (status %s): %s" % (
				srv.proc.returncode, srv.log_tail())
	finally:
		out["loadavg_after"] = round(os.getloadavg()[0], 2)
		try:
			srv.stop()
		finally:
			if srv in _live:
				_live.remove(srv)
	return out


ROWS = [
	("load", "load the corpus (method below)"),
	("select", "SELECT INBOX"),
	("fetch_all", "UID FETCH 1:* (UID FLAGS ... BODYSTRUCTURE)"),
	("fetch_first", "  the same, first run after load"),
	("fetch_all_raw", "  the same, raw socket (no imaplib parsing)"),
	("search_body", "UID SEARCH BODY <word in 1%>"),
	("search_from", "UID SEARCH FROM <name>"),
	("peek200", "200 x UID FETCH n BODY.PEEK[]"),
	("append1000", "APPEND 1,000 messages (imaplib)"),
	("rss_idle", "RSS idle, after load (VmRSS sum)"),
	("rss_idle_after", "RSS idle, after the workload"),
	("rss_20conns", "RSS with 20 connections SELECTed"),
	("pss_idle", "PSS idle, after load (shared pages split)"),
	("pss_20conns", "PSS with 20 connections"),
]


def fmt_value(r):
	if r is None:
		return "-"
	if "error" in r:
		return "failed: " + r["error"]
	v = r["value"]
	unit = r["unit"]
	if unit == "ms":
		s = ("%.1f ms" % v) if v < 100 else ("%.0f ms" % v)
	elif unit == "s":
		s = "%.2f s" % v
	else:
		s = "%.1f %s" % (v, unit)
	if "check" in r:
		s += " (!)"
	return s


def derived(res):
	"""Adds the PSS rows from the memory measurements."""
	r = res.get("fetch_all")
	if r and "first" in r:
		res["fetch_first"] = {"value": r["first"], "unit": "ms"}
	for src, dst in (("rss_idle", "pss_idle"),
			 ("rss_20conns", "pss_20conns")):
		r = res.get(src)
		if r and "pss_mb" in r:
			res[dst] = {"value": r["pss_mb"], "unit": "MB"}
		elif r and "error" in r:
			res[dst] = {"error": r["error"]}


def table(servers, meta, runs):
	names = ["popbridge", "dovecot"]
	res = {n: servers.get(n, {}).get("results", {}) for n in names}
	errs = {n: servers.get(n, {}).get("error") for n in names}
	for n in names:
		derived(res[n])
	lines = []
	lines.append("Corpus: %d messages, %.1f MB (mean %d bytes, %d over "
		     "100 KB), seed %d; BODY search %r (%d hits expected), "
		     "FROM search %r (%d)." % (
			     meta["count"], meta["total_bytes"] / 1e6,
			     meta["mean_bytes"],
			     meta["large_messages_over_100k"], meta["seed"],
			     meta["marker_word"], meta["marker_count"],
			     meta["from_search"], meta["from_count"]))
	for n in names:
		s = servers.get(n)
		if s and s.get("describe"):
			lines.append("%s: %s" % (n, s["describe"]))
	w0 = 46
	w1 = 20
	lines.append("")
	lines.append("%-*s %*s %*s %7s" % (w0, "measurement", w1, "popbridge",
					   w1, "dovecot", "ratio"))
	lines.append("-" * (w0 + 2 * w1 + 10))
	ratios = {}
	for key, label in ROWS:
		cells = []
		for n in names:
			if n not in servers:
				cells.append("-")
			elif key in res[n]:
				cells.append(fmt_value(res[n][key]))
			elif errs[n]:
				cells.append("failed (see below)")
			else:
				cells.append("-")
		ratio = ""
		a = res["popbridge"].get(key)
		b = res["dovecot"].get(key)
		if a and b and "value" in a and "value" in b and b["value"]:
			ratios[key] = a["value"] / b["value"]
			ratio = "%.2f" % ratios[key]
		cells = [c if len(c) <= w1 else "failed (see below)"
			 for c in cells]
		lines.append("%-*s %*s %*s %7s" % (w0, label, w1, cells[0], w1,
						   cells[1], ratio))
	extra = []
	for n in names:
		r = res[n].get("append1000")
		if r and "msgs_per_s" in r:
			extra.append("%s APPEND %.0f msg/s" % (n, r["msgs_per_s"]))
		r = res[n].get("load")
		if r and "msgs_per_s" in r:
			extra.append("%s load %.0f msg/s" % (n, r["msgs_per_s"]))
	lines.append("-" * (w0 + 2 * w1 + 10))
	lines.append("ratio = popbridge / dovecot: lower is better on every "
		     "line; times are medians of %d runs (after one warm-up run for "
		     "FETCH, SEARCH, BODY.PEEK); (!) = wrong count, see notes."
		     % runs)
	if extra:
		lines.append("; ".join(extra))
	long_errors = []
	for n in names:
		for key, r in res[n].items():
			if isinstance(r, dict) and "error" in r and \
					len("failed: " + r["error"]) > w1:
				long_errors.append("%s %s: %s" % (n, key, r["error"]))
		if errs[n]:
			long_errors.append("%s: %s" % (n, errs[n]))
	busy = []
	ncpu = os.cpu_count() or 1
	for n in names:
		s = servers.get(n)
		if s and "loadavg_before" in s:
			busy.append("%s %.1f -> %.1f" % (n, s["loadavg_before"],
						      s.get("loadavg_after", 0)))
	if busy:
		lines.append("1-min load average over each server's run (%d "
			     "CPUs): %s" % (ncpu, ", ".join(busy)))
		if any(servers[n].get("loadavg_after", 0) > ncpu
		       for n in names if n in servers):
			lines.append("warning: the machine was busy with other "
				     "work; times are noisy (rerun on a quiet "
				     "machine to compare).")
	for n in names:
		for note in servers.get(n, {}).get("notes", []):
			lines.append("note: " + note)
	for e in long_errors:
		lines.append("failure: " + e)
	return "\n".join(lines), ratios


def main():
	ap = argparse.ArgumentParser(
		description="Benchmark popbridge's IMAP server against Dovecot.")
	ap.add_argument("--popbridge", default=os.path.join(
		HERE, "..", "..", "build", "popbridge"))
	ap.add_argument("--count", type=int, default=20000)
	ap.add_argument("--quick", action="store_true",
			help="2,000 messages (smoke run)")
	ap.add_argument("--only", choices=["popbridge", "dovecot", "pop3"])
	ap.add_argument("--pop3-count", type=int,
			default=pop3_bench.DEFAULT_COUNT,
			help="messages of the poller line (default %(default)s;"
			" --quick: 1,000)")
	ap.add_argument("--seed", type=int, default=1)
	ap.add_argument("--runs", type=int, default=3)
	ap.add_argument("--dovecot-format", choices=["sdbox", "maildir"],
			default="sdbox")
	ap.add_argument("--dovecot-load", choices=["import", "append"],
			default="import",
			help="fill Dovecot by doveadm import (default) or "
			"IMAP APPEND")
	ap.add_argument("--out", default=os.path.join(HERE, "out"))
	a = ap.parse_args()
	if a.quick:
		a.count = 2000
		a.pop3_count = min(a.pop3_count, 1000)
	signal.signal(signal.SIGTERM, _on_term)
	atexit.register(_stop_all)
	atexit.register(pop3_bench._stop_live)
	if a.only == "pop3":
		pop3 = pop3_bench.run(os.path.abspath(a.popbridge), a.pop3_count,
				      a.seed, a.out, a.runs, log=log)
		print(pop3_bench.table(pop3))
		write_results(a.out, {"pop3": pop3})
		return 0

	log("corpus: %d messages, seed %d" % (a.count, a.seed))
	t0 = time.perf_counter()
	cdir = gen_corpus.generate(a.count, a.seed, a.out)
	index = gen_corpus.load_index(cdir)
	log("corpus ready in %.1f s: %s (%.1f MB)" % (
		time.perf_counter() - t0, cdir, index["total_bytes"] / 1e6))
	meta = {k: v for k, v in index.items() if k != "messages"}

	servers = {}
	order = ["popbridge", "dovecot"] if not a.only else [a.only]
	for name in order:
		if name == "popbridge":
			srv = popbridge_srv.Popbridge(os.path.abspath(a.popbridge),
						      log=log)
		else:
			srv = dovecot.Dovecot(a.dovecot_format, log=log,
					      load_how=a.dovecot_load)
		servers[name] = run_server(srv, cdir, index, a.runs)

	text, ratios = table(servers, meta, a.runs)
	for name in servers:
		ld = servers[name].get("results", {}).get("load", {})
		if ld.get("method"):
			text += "\n%s loaded by %s." % (name, ld["method"])
	if "dovecot" in servers:
		text += ("\nDovecot mail storage: %s (choose with "
			 "--dovecot-format)." % a.dovecot_format)
	results = {"corpus": meta, "dovecot_format": a.dovecot_format,
		   "servers": servers, "ratios": ratios}
	if not a.only:
		print(text + "\n", flush=True)
		pop3 = pop3_bench.run(os.path.abspath(a.popbridge), a.pop3_count,
				      a.seed, a.out, a.runs, log=log)
		text = pop3_bench.table(pop3)
		results["pop3"] = pop3
	print(text)
	write_results(a.out, results)
	return 0


def write_results(out, results):
	os.makedirs(out, exist_ok=True)
	path = os.path.join(out, "results.json")
	with open(path, "w") as f:
		json.dump(dict({"time": time.strftime("%Y-%m-%dT%H:%M:%SZ",
						      time.gmtime())}, **results),
			  f, indent=1)
	print("results: %s" % os.path.relpath(path))


if __name__ == "__main__":
	sys.exit(main())
