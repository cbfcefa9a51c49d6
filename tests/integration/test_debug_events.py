"""The debug-level event of every recorded login (account_guard_login_recorded) exists exactly
when somebody wants it: auth_debug, or a metric on it. Otherwise the engine builds no text for it
(it is the bulk of a known-network login's work), and nothing is lost."""

import sandbox

from conftest import PASSWORDS

ALICE = PASSWORDS["alice"]

EXPORT = ('event_exporter log {\n  format = json\n  format_args = time-rfc3339\n  transport = log\n}\n'
          'metric account_guard_recorded {\n  filter = event=account_guard_login_recorded\n'
          '  exporter = log\n}\n')


def login(d, rip):
    code, out = d.auth_test("alice", ALICE, rip)
    assert code == 0, out


def test_auth_debug_logs_each_recorded_login(make_dovecot):
    d = make_dovecot(auth_debug=True)
    login(d, "192.0.2.7")
    assert "login recorded from 192.0.2.0/24 (1 networks within 1h)" in d.wait_for_log("login recorded")


def test_a_metric_on_the_event_gets_it_without_debug_logging(make_dovecot):
    d = make_dovecot(extra_conf=EXPORT)
    login(d, "192.0.2.7")
    login(d, "198.51.100.7")
    # The stats process exports them to the log on its own schedule: wait for both.
    def exported_lines():
        return [l for l in d.log().splitlines() if '"account_guard_login_recorded"' in l]
    sandbox.wait_until(lambda: len(exported_lines()) >= 2, timeout=30)
    exported = exported_lines()
    assert len(exported) == 2, d.log_tail(40)
    assert '"networks":"198.51.100.0/24"' in exported[1]
    assert "Debug:" not in d.log()


def test_nobody_listening_means_no_event(make_dovecot):
    d = make_dovecot()
    login(d, "192.0.2.7")
    assert "login recorded" not in d.log()
    assert "account_guard_login_recorded" not in d.log()
    # ... and the login was recorded all the same.
    code, out = d.account_status("alice")[:2]
    assert code == 0 and "192.0.2.0/24" in out
