"""account-guard-passwd (README "Changing passwords") and passwd-file-update as programs: exit codes,
messages, -c, build-breached, chpasswd against a real memcached, and proof that Dovecot's own
`doveadm pw -t` accepts every hash the tool produces.

The binaries come from the build tree: $AG_BUILD_DIR (default: build/ at the repository root),
password-policy/account-guard-passwd and password-policy/passwd-file-update.
Every test also checks that no password it used shows up in any output.
"""

import hashlib
import json
import os
import subprocess
import threading

import pytest

import sandbox

STRONG = "Mango-Tiger-Quartz-77"
STRONG2 = "Lantern-Velvet-Otter-31"
WEAK = "password1234567890"
ENV = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL": "C.UTF-8"}


def built(name):
    return sandbox.built("password-policy", name)


@pytest.fixture
def passwd():
    return built("account-guard-passwd")


@pytest.fixture
def passwd_file_update():
    return built("passwd-file-update")


def write_config(directory, settings=None):
    """A minimal Dovecot configuration whose plugin {} holds settings; returns its path."""
    path = os.path.join(directory, "dovecot.conf")
    lines = [f"base_dir = {directory}/base", "plugin {"]
    lines += [f"  {k} = {v}" for k, v in (settings or {}).items()]
    lines += ["}", ""]
    with open(path, "w") as f:
        f.write("\n".join(lines))
    return path


class Run:
    def __init__(self, res, secrets):
        self.code = res.returncode
        self.out = res.stdout.decode("utf-8", errors="replace")
        self.err = res.stderr.decode("utf-8", errors="replace")
        for s in secrets:
            assert s not in self.out and s not in self.err, \
                f"a password appeared in the output:\n{self.out}\n{self.err}"

    def __repr__(self):
        return f"exit {self.code}\nstdout: {self.out!r}\nstderr: {self.err!r}"


def run(program, args, stdin=b"", secrets=(), env=None):
    if isinstance(stdin, str):
        stdin = stdin.encode()
    res = subprocess.run([program, *args], input=stdin, capture_output=True, timeout=120,
                         env=env or ENV)
    return Run(res, [s for s in secrets if len(s) >= 8])


# ---- check ----------------------------------------------------------------------------------

def test_check_accepts_a_strong_password(passwd, tmp_path):
    conf = write_config(tmp_path)
    r = run(passwd, ["-c", conf, "check"], STRONG + "\n", [STRONG])
    assert r.code == 0, r
    assert r.out == ""


def test_check_rejects_with_one_reason_per_line(passwd, tmp_path):
    conf = write_config(tmp_path)
    r = run(passwd, ["-c", conf, "check"], " pass\tword\n", ["pass\tword"])
    assert r.code == 1, r
    assert r.out.splitlines() == [
        "The password contains a control character (such as a tab or a line break); use only "
        "visible characters and spaces.",
        "The password starts or ends with a space; remove the space at the start or end.",
        "The password is too short: use at least 15 characters.",
    ]


def test_check_json(passwd, tmp_path):
    conf = write_config(tmp_path)
    r = run(passwd, ["-c", conf, "check", "--json"], "qwertyuiopasdfgh\n", ["qwertyuiopasdfgh"])
    assert r.code == 1, r
    obj = json.loads(r.out)
    assert obj["accepted"] is False
    assert obj["codes"] == ["too_weak"]
    assert len(obj["reasons"]) == 1 and "too easy to guess" in obj["reasons"][0]
    r = run(passwd, ["-c", conf, "check", "--json"], STRONG + "\n", [STRONG])
    assert r.code == 0, r
    assert json.loads(r.out) == {"accepted": True, "reasons": [], "codes": []}


@pytest.mark.parametrize("args", [["--user", "alice@example.com"], ["--user=alice@example.com"]])
def test_check_user_context(passwd, tmp_path, args):
    conf = write_config(tmp_path)
    pw = "Alice1234567890!"
    r = run(passwd, ["-c", conf, "check", *args, "--json"], pw + "\n", [pw])
    assert r.code == 1, r
    assert "context_user_name" in json.loads(r.out)["codes"]
    r = run(passwd, ["-c", conf, "check", "--json"], pw + "\n", [pw])
    assert "context_user_name" not in json.loads(r.out)["codes"]


def test_check_with_a_user_still_gates_strength(passwd, tmp_path):
    conf = write_config(tmp_path)
    for pw in ("qwertyuiopasdfgh", "passwordpassword"):
        r = run(passwd, ["-c", conf, "check", "--user", "carol@example.com", "--json"],
                pw + "\n", [pw])
        assert r.code == 1, r
        assert json.loads(r.out)["codes"] == ["too_weak"], r
    r = run(passwd, ["-c", conf, "check", "--user", "carol@example.com"], STRONG + "\n", [STRONG])
    assert r.code == 0, r


def test_check_context_words_reach_the_strength_estimate(passwd, tmp_path):
    # Built on the words, but not close to any of them as a whole (rule 5 does not apply):
    # strong for zxcvbn on its own (about 10^16 guesses), weak once the words are its
    # dictionary (about 10^3) - from the setting and from the user name alike.
    pw = "zanzibarquokka77zanzibar"
    plain = write_config(tmp_path)
    r = run(passwd, ["-c", plain, "check", "--json"], pw + "\n", [pw])
    assert r.code == 0, r
    r = run(passwd, ["-c", plain, "check", "--user", "zanzibar@quokka.example", "--json"],
            pw + "\n", [pw])
    assert r.code == 1 and json.loads(r.out)["codes"] == ["too_weak"], r
    words_dir = tmp_path / "words"
    words_dir.mkdir()
    words = write_config(words_dir, {"account_guard_password_context_words": "Zanzibar, quokka"})
    r = run(passwd, ["-c", words, "check", "--json"], pw + "\n", [pw])
    assert r.code == 1 and json.loads(r.out)["codes"] == ["too_weak"], r


def test_check_old_password(passwd, tmp_path):
    conf = write_config(tmp_path)
    old = "Blue-Sky-Lantern-42"
    r = run(passwd, ["-c", conf, "check", "--old", "--json"], f"Blue-Sky-Lantern-43\n{old}\n",
            [old, "Blue-Sky-Lantern-43"])
    assert r.code == 1, r
    assert json.loads(r.out)["codes"] == ["similar_to_old"]
    r = run(passwd, ["-c", conf, "check", "--old"], f"{old}\r\n{old}\r\n", [old])
    assert r.code == 1, r
    assert r.out == "The new password is the same as the old one; choose a new password.\n"
    r = run(passwd, ["-c", conf, "check", "--old"], f"{STRONG}\n{old}", [STRONG, old])
    assert r.code == 0, r
    r = run(passwd, ["-c", conf, "check", "--old"], f"{STRONG}\n", [STRONG])
    assert r.code == 2, r
    assert "stdin holds no second line with the old password" in r.err


def test_check_unicode(passwd, tmp_path):
    conf = write_config(tmp_path)
    cases = [
        ("щука-лампа-ветер", 0, []),
        ("Gru\u0308ße-aus-Ko\u0308ln-Zq8#", 1, ["not_nfc"]),
        ("Grüße-aus-Köln-Zq8#", 0, []),
        ("🦊🌲🎸🚲🍄🐙🌵🎈🧲🪁🦉🍋🛶🧩🪐", 0, []),
    ]
    for pw, code, codes in cases:
        r = run(passwd, ["-c", conf, "check", "--json"], (pw + "\n").encode(), [pw])
        assert r.code == code, (pw, r)
        assert json.loads(r.out)["codes"] == codes
    r = run(passwd, ["-c", conf, "check", "--json"], b"\xff\xfeMango-Tiger-Quartz\n")
    assert r.code == 1 and json.loads(r.out)["codes"] == ["invalid_utf8"], r


def test_check_overlong_line_is_refused_not_cut(passwd, tmp_path):
    conf = write_config(tmp_path)
    long_pw = "Zq8#vLp2@x" * 10000  # 100 kB
    r = run(passwd, ["-c", conf, "check", "--json"], long_pw + "\n", [long_pw[:40]])
    assert r.code == 1, r
    assert json.loads(r.out)["codes"] == ["too_many_bytes"]
    r = run(passwd, ["-c", conf, "check", "--json"], "Zq8#vLp2@x" * 52 + "\n")  # 520 bytes
    assert json.loads(r.out)["codes"] == ["too_many_bytes"]


@pytest.mark.parametrize("args,stdin,message", [
    ([], "", "no command given"),
    (["frobnicate"], "", "unknown command 'frobnicate'"),
    (["-x", "check"], "", "unknown option '-x'"),
    (["-c"], "", "-c needs a Dovecot configuration file"),
    (["check", "--bogus"], STRONG + "\n", "check: unknown argument '--bogus'"),
    (["check", "--user"], STRONG + "\n", "--user needs a value"),
    (["check"], "", "check: no password on stdin"),
    (["chpasswd", "extra"], "", "chpasswd: unexpected argument 'extra'"),
    (["build-breached", "only-one"], "", "build-breached needs INPUT and OUTPUT"),
    (["build-breached", "--entries", "x", "a", "b"], "", "--entries needs a whole number"),
])
def test_usage_errors_exit_2(passwd, tmp_path, args, stdin, message):
    conf = write_config(tmp_path)
    full = ["-c", conf, *args] if args[:1] != ["-c"] and args[:1] != ["-x"] else args
    r = run(passwd, full, stdin, [STRONG])
    assert r.code == 2, r
    assert r.out == ""
    assert r.err.startswith(f"account-guard-passwd: {message}\n"), r
    assert "usage: account-guard-passwd" in r.err


def test_help(passwd):
    r = run(passwd, ["--help"])
    assert r.code == 0 and r.out.startswith("usage: account-guard-passwd"), r


# ---- settings and -c ------------------------------------------------------------------------

def test_dash_c_picks_the_configuration(passwd, tmp_path):
    a = tmp_path / "a"
    b = tmp_path / "b"
    a.mkdir()
    b.mkdir()
    conf_a = write_config(str(a))
    conf_b = write_config(str(b), {"account_guard_password_min_length": "25",
                                   "account_guard_password_context_words": "mango"})
    pw = "Quartz-Lantern-Otter-7"  # 22 characters
    assert run(passwd, ["-c", conf_a, "check"], pw + "\n", [pw]).code == 0
    r = run(passwd, ["-c", conf_b, "check"], pw + "\n", [pw])
    assert r.code == 1, r
    assert r.out == "The password is too short: use at least 25 characters.\n"
    r = run(passwd, ["-c", conf_b, "check", "--json"], "Mango!!1234567890123456789\n")
    assert "context_word" in json.loads(r.out)["codes"]


def test_missing_configuration(passwd, tmp_path):
    r = run(passwd, ["-c", str(tmp_path / "nope.conf"), "check"], STRONG + "\n", [STRONG])
    assert r.code == 2, r
    assert r.err.startswith("account-guard-passwd: cannot read the settings: /usr/bin/doveconf -c "
                            f"{tmp_path}/nope.conf -S plugin failed (exit code "), r


@pytest.mark.parametrize("name,value,message", [
    ("account_guard_password_min_length", "5",
     "account_guard_password_min_length: must be at least 8 '5'"),
    ("account_guard_password_max_length", "600",
     "account_guard_password_max_length: must be at most 512 (the byte limit of a password) '600'"),
    ("account_guard_password_min_guesses_log10", "lots",
     "account_guard_password_min_guesses_log10: must be a number from 0 to 100 'lots'"),
    ("account_guard_password_scheme", "CRAM-MD5",
     "account_guard_password_scheme: unsupported password scheme (supported: ARGON2ID, ARGON2I, "
     "SHA512-CRYPT, SHA256-CRYPT, BLF-CRYPT) 'CRAM-MD5'"),
    ("account_guard_password_update_command", "relative/path",
     "account_guard_password_update_command: must start with the absolute path of a program "
     "'relative/path'"),
    ("account_guard_password_min_lenght", "20",
     "account_guard_password_min_lenght: unknown setting '20'"),
])
def test_invalid_setting_exits_2_naming_it(passwd, tmp_path, name, value, message):
    conf = write_config(tmp_path, {name: value})
    for sub, stdin in (("check", STRONG + "\n"), ("chpasswd", f"alice:{STRONG}\n")):
        r = run(passwd, ["-c", conf, sub], stdin, [STRONG])
        assert r.code == 2, r
        assert r.out == ""
        assert r.err == f"account-guard-passwd: {message}\n"


def test_secret_looking_values_are_read_exactly(passwd, tmp_path):
    # doveconf's readable output would hide a value of a key that looks like a secret; -S does
    # not. (A context word is not secret, but this proves the tool uses -S.)
    conf = write_config(tmp_path, {"account_guard_password_context_words": "zanzibar-quokka"})
    r = run(passwd, ["-c", conf, "check", "--json"], "Zanzibar-Quokka!!1234\n")
    assert "context_word" in json.loads(r.out)["codes"], r


# ---- build-breached and the breached check ----------------------------------------------------

def pwned_file(path, passwords, extra=0, eol="\r\n", sort=True):
    lines = [hashlib.sha1(p.encode()).hexdigest().upper() + ":7" for p in passwords]
    lines += [hashlib.sha1(f"filler-{i}".encode()).hexdigest().upper() + f":{i % 50 + 1}"
              for i in range(extra)]
    if sort:
        lines.sort()
    with open(path, "w", newline="") as f:
        f.write("".join(line + eol for line in lines))


def test_build_breached_and_check(passwd, tmp_path):
    listed = [WEAK, "Mango-Tiger-Quartz-77", "correct horse battery staple"]
    pwned_file(tmp_path / "pwned.txt", listed, extra=5000)
    out = tmp_path / "pwned.bin"
    r = run(passwd, ["build-breached", str(tmp_path / "pwned.txt"), str(out)])
    assert r.code == 0, r
    assert r.out.startswith(f"{out}: 5003 entries from 5003 lines (0 duplicates, 0 below "
                            "--min-count), "), r
    assert "false-positive rate" in r.out
    conf = write_config(tmp_path, {"account_guard_password_breached_db": str(out)})
    for pw in listed:
        r = run(passwd, ["-c", conf, "check", "--json"], pw + "\n", [pw])
        assert r.code == 1, r
        assert "breached" in json.loads(r.out)["codes"]
    r = run(passwd, ["-c", conf, "check"], STRONG2 + "\n", [STRONG2])
    assert r.code == 0, r


def test_build_breached_min_count_and_entries(passwd, tmp_path):
    pwned_file(tmp_path / "in.txt", [], extra=1000)
    r = run(passwd, ["build-breached", "--min-count", "26", "--entries", "1000",
                     str(tmp_path / "in.txt"), str(tmp_path / "out.bin")])
    assert r.code == 0, r
    assert " 500 entries from 1000 lines (0 duplicates, 500 below --min-count)" in r.out, r


def test_build_breached_from_stdin(passwd, tmp_path):
    pwned_file(tmp_path / "in.txt", [WEAK], extra=100)
    data = (tmp_path / "in.txt").read_bytes()
    r = run(passwd, ["build-breached", "-", str(tmp_path / "out.bin")], data)
    assert r.code == 1, r
    assert "pass --entries N" in r.err
    r = run(passwd, ["build-breached", "--entries", "100", "-", str(tmp_path / "out.bin")], data)
    assert r.code == 0, r


def test_build_breached_refuses_unsorted_input(passwd, tmp_path):
    pwned_file(tmp_path / "in.txt", [], extra=100, sort=False)
    r = run(passwd, ["build-breached", str(tmp_path / "in.txt"), str(tmp_path / "out.bin")])
    assert r.code == 1, r
    assert "not sorted" in r.err and " line " in r.err, r
    assert sorted(os.listdir(tmp_path)) == ["in.txt"]


def test_corrupt_breached_db_is_a_configuration_error(passwd, tmp_path):
    pwned_file(tmp_path / "in.txt", [WEAK], extra=3000)
    out = tmp_path / "pwned.bin"
    assert run(passwd, ["build-breached", str(tmp_path / "in.txt"), str(out)]).code == 0
    data = out.read_bytes()
    out.write_bytes(data[:-4096])
    conf = write_config(tmp_path, {"account_guard_password_breached_db": str(out)})
    r = run(passwd, ["-c", conf, "check"], STRONG + "\n", [STRONG])
    assert r.code == 2, r
    assert r.err == (f"account-guard-passwd: account_guard_password_breached_db: {out}: truncated: "
                     f"{len(data) - 4096} bytes, the header says {len(data)}\n")
    out.write_bytes(b"SHA1 list, not built\n" * 300)
    r = run(passwd, ["-c", conf, "check"], STRONG + "\n", [STRONG])
    assert r.code == 2 and "not a breached-password file" in r.err, r


# ---- chpasswd -------------------------------------------------------------------------------

STORE_SCRIPT = """#!/bin/sh
# test update command: appends "USER HASH" to the store file
hash=$(cat)
printf '%s %s\\n' "$1" "$hash" >> "{store}"
"""


def chpasswd_setup(tmp_path, memcached_address, extra=None, script=STORE_SCRIPT):
    store = tmp_path / "store"
    prog = tmp_path / "update"
    prog.write_text(script.format(store=store))
    prog.chmod(0o755)
    settings = {"account_guard_memcached_servers": memcached_address,
                "account_guard_password_update_command": str(prog)}
    settings.update(extra or {})
    return write_config(tmp_path, settings), store


def stored(store):
    if not store.exists():
        return {}
    result = {}
    for line in store.read_text().splitlines():
        user, hash_ = line.split(" ", 1)
        result[user] = hash_
    return result


def doveadm_pw_verifies(hash_, password):
    """Dovecot's own verifier: `doveadm pw -t HASH`, the password on stdin (no tty: it reads
    one line from stdin)."""
    res = subprocess.run(["/usr/bin/doveadm", "pw", "-t", hash_], input=(password + "\n").encode(),
                         capture_output=True, timeout=60)
    return res.returncode == 0 and b"(verified)" in res.stdout


@pytest.mark.parametrize("scheme,prefix", [
    ("ARGON2ID", "{ARGON2ID}$argon2id$v=19$m=65536,t=3,p=1$"),
    ("ARGON2I", "{ARGON2I}$argon2i$v=19$m=32768,t=4,p=1$"),
    ("SHA512-CRYPT", "{SHA512-CRYPT}$6$"),
    ("SHA256-CRYPT", "{SHA256-CRYPT}$5$"),
    ("BLF-CRYPT", "{BLF-CRYPT}$2y$05$"),
])
def test_chpasswd_hash_is_accepted_by_dovecot(passwd, memcached, tmp_path, scheme, prefix):
    conf, store = chpasswd_setup(tmp_path, memcached.address,
                                 {"account_guard_password_scheme": scheme})
    pw = "Grüße-Quartz-Lantern-77"  # non-ASCII: the exact UTF-8 bytes are hashed
    r = run(passwd, ["-c", conf, "chpasswd"], f"alice@example.com:{pw}\n", [pw])
    assert r.code == 0, r
    assert r.out == "alice@example.com: password changed\n"
    h = stored(store)["alice@example.com"]
    assert h.startswith(prefix), h
    assert doveadm_pw_verifies(h, pw)
    assert not doveadm_pw_verifies(h, "Grüße-Quartz-Lantern-78")
    # NFD spelling of the same password: different bytes, so not accepted.
    assert not doveadm_pw_verifies(h, "Gru\u0308ße-Quartz-Lantern-77")


def test_doveadm_pw_reads_the_password_from_a_pipe(tmp_path):
    # The fact the hashing approach was checked against: without a tty, doveadm pw reads the
    # password from stdin (twice for a new hash), up to the first CR or LF.
    res = subprocess.run(["/usr/bin/doveadm", "pw", "-s", "ARGON2ID"],
                         input=f"{STRONG}\n{STRONG}\n".encode(), capture_output=True, timeout=60)
    assert res.returncode == 0, res
    h = res.stdout.decode().strip()
    assert h.startswith("{ARGON2ID}$argon2id$v=19$m=65536,t=3,p=1$"), h
    assert doveadm_pw_verifies(h, STRONG)


def test_chpasswd_lines(passwd, memcached, tmp_path):
    conf, store = chpasswd_setup(tmp_path, memcached.address)
    stdin = (f"alice:{STRONG}\n"
             f"bob:{WEAK}\n"
             "\n"
             f"no-colon-{STRONG2}\n"
             f"carol:with:colons:{STRONG2}\r\n"
             f"dave:Dave1234567890!!\n")
    r = run(passwd, ["-c", conf, "chpasswd"], stdin,
            [STRONG, WEAK, STRONG2, "with:colons", "Dave1234567890"])
    assert r.code == 1, r
    lines = r.out.splitlines()
    assert lines[0] == "alice: password changed"
    assert lines[1].startswith("bob: rejected: The password is too easy to guess")
    assert lines[2] == "line 4: rejected: expected user:newpassword"
    assert lines[3] == "carol: password changed"  # split at the first colon
    assert lines[4] == ("dave: rejected: The password is too close to your user name; choose one "
                        "that is not based on it.")
    s = stored(store)
    assert sorted(s) == ["alice", "carol"]
    from_passwd = {u: h for u, h in s.items()}
    assert doveadm_pw_verifies(from_passwd["alice"], STRONG)
    assert doveadm_pw_verifies(from_passwd["carol"], "with:colons:" + STRONG2)


def test_chpasswd_all_accepted_exits_0(passwd, memcached, tmp_path):
    conf, store = chpasswd_setup(tmp_path, memcached.address)
    r = run(passwd, ["-c", conf, "chpasswd"], f"alice:{STRONG}\nbob:{STRONG2}\n", [STRONG, STRONG2])
    assert r.code == 0, r
    assert sorted(stored(store)) == ["alice", "bob"]


def test_chpasswd_update_command_failure(passwd, memcached, tmp_path):
    conf, store = chpasswd_setup(tmp_path, memcached.address,
                                 script="#!/bin/sh\ncat >/dev/null\necho 'disk full' >&2\nexit 3\n")
    r = run(passwd, ["-c", conf, "chpasswd"], f"alice:{STRONG}\n", [STRONG])
    assert r.code == 1, r
    assert r.out == f"alice: not changed: update command {tmp_path}/update failed with exit code 3\n"
    assert "disk full" in r.err  # the command's own complaint reaches our stderr


def test_chpasswd_memcached_down_reports_and_fails(passwd, tmp_path):
    port = sandbox.free_port()  # nothing listens there
    conf, store = chpasswd_setup(tmp_path, f"127.0.0.1:{port}")
    r = run(passwd, ["-c", conf, "chpasswd"], f"alice:{STRONG}\n", [STRONG])
    assert r.code == 1, r
    assert r.out.startswith("alice: password changed, but the account could not be unlocked: "), r
    assert "alice" in stored(store)  # the password itself was stored


def test_chpasswd_needs_an_update_command(passwd, memcached, tmp_path):
    conf = write_config(tmp_path, {"account_guard_memcached_servers": memcached.address})
    r = run(passwd, ["-c", conf, "chpasswd"], f"alice:{STRONG}\n", [STRONG])
    assert r.code == 2, r
    assert r.err == ("account-guard-passwd: account_guard_password_update_command: not set, so "
                     "chpasswd cannot store passwords ''\n")


def test_chpasswd_empty_input(passwd, memcached, tmp_path):
    conf, _ = chpasswd_setup(tmp_path, memcached.address)
    r = run(passwd, ["-c", conf, "chpasswd"], "")
    assert r.code == 2, r
    assert "no user:newpassword line on stdin" in r.err


def test_password_not_in_argv_of_the_update_command(passwd, memcached, tmp_path):
    conf, store = chpasswd_setup(
        tmp_path, memcached.address,
        script='#!/bin/sh\ncat /proc/$PPID/cmdline /proc/$$/cmdline > "{store}.argv"\n'
               'printf "%s %s\\n" "$1" "$(cat)" >> "{store}"\n')
    r = run(passwd, ["-c", conf, "chpasswd"], f"alice:{STRONG}\n", [STRONG])
    assert r.code == 0, r
    argv = (tmp_path / "store.argv").read_bytes()
    assert STRONG.encode() not in argv
    assert b"alice" in argv


# ---- passwd-file-update ---------------------------------------------------------------------

USERS = ("# users\n"
         "alice:{PLAIN}a-old:1000:1000::/home/alice::userdb_quota_rule=*:storage=1G\n"
         "bob:{PLAIN}b-old::::::\r\n"
         "carol:{PLAIN}c-old\n"
         "\n"
         "dave:{PLAIN}d-old:::::: nopassword\n")


def test_passwd_file_update_changes_one_field(passwd_file_update, tmp_path):
    users = tmp_path / "users"
    users.write_bytes(USERS.encode())
    h = "{ARGON2ID}$argon2id$v=19$m=65536,t=3,p=1$c2FsdHNhbHQ$aGFzaA"
    r = run(passwd_file_update, [str(users), "bob"], h + "\n")
    assert r.code == 0, r
    assert users.read_bytes() == USERS.replace("{PLAIN}b-old", h).encode()
    env = dict(ENV, ACCOUNT_GUARD_PASSWD_FILE=str(users))
    r = run(passwd_file_update, ["carol"], "{PLAIN}c-new\n", env=env)
    assert r.code == 0, r
    assert users.read_bytes() == USERS.replace("{PLAIN}b-old", h).replace(
        "{PLAIN}c-old", "{PLAIN}c-new").encode()


@pytest.mark.parametrize("args,stdin,code,message", [
    (["erin"], "{PLAIN}x\n", 1, "user not found in "),
    (["ali:ce"], "{PLAIN}x\n", 2, "refusing the user: user name contains ':'"),
    (["alice\nbob"], "{PLAIN}x\n", 2, "refusing the user: user name contains a control character"),
    (["alice"], "{PLAIN}x:y\n", 2, "refusing the hash from stdin: hash contains ':'"),
    (["alice"], "{PLAIN}x\n{PLAIN}y\n", 2, "stdin holds more than one line"),
    (["alice"], "", 2, "refusing the hash from stdin: empty hash"),
])
def test_passwd_file_update_refuses(passwd_file_update, tmp_path, args, stdin, code, message):
    users = tmp_path / "users"
    users.write_bytes(USERS.encode())
    r = run(passwd_file_update, [str(users), *args], stdin)
    assert r.code == code, r
    assert message in r.err, r
    assert users.read_bytes() == USERS.encode()


def test_passwd_file_update_usage(passwd_file_update):
    r = run(passwd_file_update, ["alice"], "{PLAIN}x\n")
    assert r.code == 2 and "ACCOUNT_GUARD_PASSWD_FILE is not set" in r.err, r
    r = run(passwd_file_update, [], "")
    assert r.code == 2 and "usage:" in r.err, r


def test_passwd_file_update_concurrent_writers(passwd_file_update, tmp_path):
    users = tmp_path / "users"
    names = [f"user{i}" for i in range(12)]
    users.write_text("".join(f"{n}:{{PLAIN}}start:{1000 + i}::::x=y\n" for i, n in enumerate(names)))
    errors = []

    def worker(name):
        for round_ in range(10):
            r = subprocess.run([passwd_file_update, str(users), name],
                               input=f"{{PLAIN}}{name}-r{round_}\n".encode(), capture_output=True)
            if r.returncode != 0:
                errors.append(r.stderr)

    threads = [threading.Thread(target=worker, args=(n,)) for n in names]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert users.read_text() == "".join(f"{n}:{{PLAIN}}{n}-r9:{1000 + i}::::x=y\n"
                                        for i, n in enumerate(names))
    assert sorted(os.listdir(tmp_path)) == ["users", "users.lock"]
