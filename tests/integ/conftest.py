"""tests/integ/conftest.py: pytest fixtures shared by the integration tests
(the harness itself is pbharness.py).

Fixtures:
  server            a running `popbridge serve` (pbharness.Instance) shared
                    by the tests of one module (fresh data directory and
                    ports per module; user pbharness.USER, password
                    pbharness.PASSWORD). Checked after every test: a dead
                    server or a new sanitizer line fails that test, and the
                    next test gets a restarted server on the same data.
  instance_factory  makes more instances for one test:
                    instance_factory(plaintext_login="never", start=True,
                    init=True) -> Instance; all are stopped and checked at
                    the test's end.
  datadir           an initialised data directory with its config file and
                    no server (pbharness.Instance; for CLI tests):
                    datadir.cli("status"), datadir.start() when needed.
  imap              a logged-in imaplib.IMAP4 on `server` (logged out at
                    the end).
  raw               a logged-in pbharness.RawIMAP on `server`.

A failing test's report carries the tail of the stderr of every server
alive at that moment.
"""

import contextlib
import os

import pytest

import pbharness
from pbharness import HarnessError, Instance


def pytest_configure(config):
    if not os.path.exists(pbharness.BINARY):
        raise pytest.UsageError(
            "popbridge binary not found at %s (set POPBRIDGE)"
            % pbharness.BINARY)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    if rep.failed:
        seen = set()
        for inst in list(pbharness.LIVE) + getattr(item, "_pb_instances",
                                                   []):
            if id(inst) in seen:
                continue
            seen.add(id(inst))
            rep.sections.append(
                ("popbridge serve stderr (%s, %s)" % (inst.name, inst.dir),
                 inst.stderr_text(tail=6000)))


class _Check:
    """Per-test health check of an instance: alive, no new sanitizer
    lines since the test began."""

    def __init__(self, inst):
        self.inst = inst
        self.offset = len(inst.stderr_text())
        self.ncli = len(inst.cli_sanitizer)

    def verify(self):
        self.inst.check_alive()
        text = self.inst.stderr_text()[self.offset:]
        bad = []
        if pbharness.sanitizer_lines(text):
            bad.append(pbharness.sanitizer_report(text))
        bad += self.inst.cli_sanitizer[self.ncli:]
        if bad:
            raise HarnessError("sanitizer report during this test:\n"
                               + "\n".join(bad))


@pytest.fixture(scope="module")
def _module_server(tmp_path_factory, request):
    name = request.module.__name__.split(".")[-1]
    inst = Instance(str(tmp_path_factory.mktemp(name)), name=name)
    inst.init()
    inst.start()
    yield inst
    inst.finish()


@pytest.fixture
def server(_module_server, request):
    inst = _module_server
    if not inst.alive():
        # A previous test killed it (and failed for it): go on with a
        # fresh process on the same data.
        inst.stop()
        inst.start()
    request.node._pb_instances = [inst]
    check = _Check(inst)
    yield inst
    check.verify()


@pytest.fixture
def instance_factory(tmp_path, request):
    made = []

    def make(plaintext_login="loopback", start=True, init=True,
             extra_config="", name=None):
        n = len(made)
        inst = Instance(str(tmp_path / ("inst%d" % n)),
                        plaintext_login=plaintext_login,
                        extra_config=extra_config,
                        name=name or "instance%d" % n)
        if init:
            inst.init()
        if start:
            inst.start()
        made.append(inst)
        request.node._pb_instances = made
        return inst

    yield make
    errors = []
    for inst in made:
        try:
            inst.finish()
        except HarnessError as e:
            errors.append("%s: %s" % (inst.name, e))
    if errors:
        raise HarnessError("\n\n".join(errors))


@pytest.fixture
def datadir(instance_factory):
    return instance_factory(start=False, name="datadir")


@pytest.fixture
def imap(server):
    m = server.imap()
    yield m
    with contextlib.suppress(Exception):
        m.logout()


@pytest.fixture
def raw(server):
    c = server.raw(login=True)
    yield c
    c.close()


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    """Adds this run's counts to $PB_SUMMARY for make test's total."""
    path = os.environ.get("PB_SUMMARY")
    if not path:
        return
    st = terminalreporter.stats
    passed = len(st.get("passed", []))
    failed = len(st.get("failed", [])) + len(st.get("error", []))
    with open(path, "a") as f:
        f.write("integ %d %d\n" % (passed, failed))
