"""pytest fixtures: a fresh memcached and a fresh sandboxed Dovecot for every test.

Run with Debian's python3 (`/usr/bin/python3 -m pytest tests/integration`, as tests/run does),
as root, after tests/link-modules has linked the built modules into Dovecot's module
directories.
"""

import os
import signal
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import sandbox  # noqa: E402

# Passwords are distinctive so that a test can prove none of them reaches the log.
PASSWORDS = {
    "alice": "Alice-pw-7Hq2-Kite",
    "bob": "Bob-pw-4Xz9-Lamp",
    "carol": "Carol-pw-1Wm5-Rope",
}


def pytest_configure(config):
    # `timeout`, CI cancellation: stop like on Ctrl-C, so the fixtures' teardown stops every
    # Dovecot and memcached and removes their directories.
    def interrupt(signum, frame):
        raise KeyboardInterrupt(f"signal {signum}")
    signal.signal(signal.SIGTERM, interrupt)


@pytest.hookimpl(hookwrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    setattr(item, "rep_" + rep.when, rep)


@pytest.fixture
def memcached():
    mc = sandbox.Memcached()
    mc.start()
    yield mc
    mc.stop()


@pytest.fixture
def make_dovecot(request, memcached):
    """Factory: make_dovecot(settings={...}, users={...}, guard_passdb_extra="...", ...)
    starts a sandboxed Dovecot with the account_guard passdb, wired to this test's memcached.
    Default users: alice, bob, carol (PASSWORDS). Everything is stopped after the test; the
    Dovecot log tail is printed when the test failed."""
    missing = sandbox.modules_installed()
    if missing:
        pytest.fail("account_guard modules are not linked into Dovecot's module directories: "
                    + ", ".join(missing) + " (run tests/link-modules as root after building)",
                    pytrace=False)
    instances = []

    def make(settings=None, users=None, **kwargs):
        d = sandbox.Dovecot(memcached, settings=settings,
                            users=users if users is not None else dict(PASSWORDS), **kwargs)
        instances.append(d)
        d.start()
        return d

    yield make

    failed = any(getattr(request.node, "rep_" + w, None) is not None and
                 getattr(request.node, "rep_" + w).failed for w in ("setup", "call"))
    for d in instances:
        # A sandbox that failed to start removed its directory (run is None); its start-up
        # error, which the failure shows, already carries the log tail.
        if failed and d.run:
            print(f"\n----- {d.log_path} (last 80 lines) -----\n{d.log_tail(80)}")
            print(f"----- {d.config_path} -----\n{open(d.config_path).read()}"
                  if os.path.exists(d.config_path) else "")
        d.cleanup()


@pytest.fixture
def dovecot(make_dovecot):
    """The default sandbox: account_guard_ip_limit = 10/1h, everything else default."""
    return make_dovecot(settings={"account_guard_ip_limit": "10/1h"})
