"""Odd and hostile input through a real Dovecot (issue 7): usernames of 1 KB, with spaces,
control bytes, invalid UTF-8, '%' and ':'; odd client addresses. Nothing crashes, every such
account is guarded like any other, and no password reaches the log or an event, even with
auth_debug = yes and every account_guard event exported to the log.

The real passdb here is `static` (any username, one password), so that usernames a
passwd-file cannot hold still reach the guard; auth_username_chars is empty so Dovecot
itself lets them through."""

import json
import subprocess

import pytest

import sandbox

PASSWORD = "Odd-pw-9Tz3-Quill"

ODD_USERS = [
    "u" * 1024,
    "with space",
    "percent%u%d%%",
    "colon:user:x",
    "ctl\x01\x1b[31mred",
    "bad-utf8-\udcff\udcfe",  # bytes 0xff 0xfe via surrogateescape
    "ünïcödé@exämple.org",
]


class StaticPassdbDovecot(sandbox.Dovecot):
    def config_text(self):
        text = super().config_text()
        start = text.index("passdb {\n  driver = passwd-file")
        end = text.index("}\n", start) + 2
        static = ("passdb {\n  driver = static\n"
                  f"  args = password={PASSWORD}\n  result_success = continue-ok\n}}\n")
        return text[:start] + static + text[end:]


@pytest.fixture
def odd_dovecot(memcached, request):
    missing = sandbox.modules_installed()
    if missing:
        pytest.fail("modules not linked: " + ", ".join(missing), pytrace=False)
    d = StaticPassdbDovecot(memcached, settings={"account_guard_ip_limit": "3/1h"},
                            users={}, auth_debug=True,
                            extra_conf='auth_username_chars =\n'
                                       'event_exporter log {\n  format = json\n  format_args = time-rfc3339\n  transport = log\n}\n'
                                       'metric account_guard_all {\n  filter = category=account_guard\n'
                                       '  exporter = log\n}\n')
    d.start()
    yield d
    if getattr(request.node, "rep_call", None) is not None and request.node.rep_call.failed:
        print(d.log_tail(80))
    d.cleanup()


def arg(user):
    """A username as the bytes doveadm gets on its command line."""
    return user.encode("utf-8", "surrogateescape")


def doveadm(d, *args):
    """doveadm with byte arguments and byte output: odd usernames come back as they went."""
    res = subprocess.run([sandbox.DOVEADM, *args[:2], "-c", d.config_path, *args[2:]]
                         if args and args[0] == "-f" else
                         [sandbox.DOVEADM, "-c", d.config_path, *args],
                         stdin=subprocess.DEVNULL, capture_output=True, timeout=60)
    return (res.returncode, res.stdout.decode("utf-8", "replace"),
            res.stderr.decode("utf-8", "replace"))


def auth(d, user, rip):
    code, out, err = doveadm(d, "auth", "test", "-x", f"rip={rip}", "-x", "service=smtp",
                             arg(user), PASSWORD)
    return code, out + err


@pytest.mark.parametrize("user", ODD_USERS, ids=lambda u: repr(u)[:24])
def test_odd_usernames_are_guarded_like_any_other(odd_dovecot, user):
    d = odd_dovecot
    for n in range(3):
        code, out = auth(d, user, f"198.51.100.{10 + n}" if n == 0 else f"203.0.{113 - n}.{n}")
        assert code == 0, f"login {n} of {user!r}: {out}"
    code, out = auth(d, user, "192.0.2.77")
    assert code == sandbox.EX_AUTH_FAILED, out
    assert "Account locked" in out
    # The auth process survived and still serves others.
    assert auth(d, "plain-user", "192.0.2.78")[0] == 0
    code, out, err = doveadm(d, "-f", "json", "account-status", arg(user))
    assert code == 0, err
    assert json.loads(out)[0]["locked"] == "yes"


# (Zone ids such as fe80::1%lo never reach us: doveadm and the login processes refuse them;
# the engine's own handling of them is unit-tested.)
@pytest.mark.parametrize("rip", ["::ffff:192.0.2.9", "::", "2001:db8::1", "0.0.0.0"])
def test_odd_client_addresses_never_crash(odd_dovecot, rip):
    code, out = auth(odd_dovecot, "alice", rip)
    assert code == 0, out


def test_no_password_in_log_or_events(odd_dovecot):
    d = odd_dovecot
    for n in range(4):  # the 4th network locks
        auth(d, "leaky", f"198.18.{n}.1")
    d.doveadm("account-unlock", "leaky")
    auth(d, "leaky", "198.18.9.1")
    log = d.log()
    assert "account_guard_account_locked" in log, "the events were not exported to the log"
    assert "account locked" in log
    assert PASSWORD not in log
    # Nor in pieces a formatter might have made of it.
    assert PASSWORD[:8] not in log and PASSWORD[-8:] not in log
