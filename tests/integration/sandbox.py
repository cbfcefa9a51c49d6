"""Sandboxed memcached and Dovecot instances on loopback, for integration tests and the demo.

Standard library only. Everything runs on 127.0.0.1 with free ports and lives in a private
temporary directory; client addresses are simulated from the trusted loopback network
(`doveadm auth test -x rip=`, SMTP `XCLIENT ADDR=`, IMAP `ID ("x-originating-ip" ...)`).

The Dovecot configuration is a minimal one of its own (CONFIG_TEMPLATE below), with the
account_guard passdb chained after a passwd-file passdb (README "Install and enable") and the guard's
settings in one `plugin {}` block (README "Settings").
"""

import atexit
import base64
import ctypes
import grp
import imaplib
import os
import poplib
import pwd
import shutil
import signal
import smtplib
import socket
import subprocess
import tempfile
import time

DOVECOT = "/usr/sbin/dovecot"
DOVEADM = "/usr/bin/doveadm"
MEMCACHED = "/usr/bin/memcached"
# Debian's python3: the one that sees python3-aiosmtpd (a pyenv python on PATH does not).
SYSTEM_PYTHON = "/usr/bin/python3"

AUTH_MODULE = "/usr/lib/dovecot/modules/auth/libauthdb_account_guard.so"
DOVEADM_MODULE = "/usr/lib/dovecot/modules/doveadm/lib10_doveadm_account_guard_plugin.so"

DEFAULT_LOCK_MESSAGE = (
    "Account locked after suspicious logins. Change your password to unlock it.")

# doveadm exit codes
EX_OK = 0
EX_NOUSER = 67
EX_TEMPFAIL = 75
EX_AUTH_FAILED = 77

# ID x-originating-ip is a Dovecot (and RFC 2971) command imaplib does not know.
imaplib.Commands.setdefault("ID", ("NONAUTH", "AUTH", "SELECTED"))


def is_root():
    return os.geteuid() == 0


_libc = ctypes.CDLL(None, use_errno=True)
PR_SET_PDEATHSIG = 1


def _die_with_parent():
    """preexec_fn: the child gets SIGTERM when the process that started it dies, even by
    SIGKILL, so an interrupted test run leaves no memcached or Dovecot behind."""
    _libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


# Everything started and not yet stopped, stopped at interpreter exit as a last resort.
_live = set()


@atexit.register
def _stop_all():
    for obj in list(_live):
        try:
            obj.stop()
        except Exception:  # noqa: BLE001 - best effort at exit
            pass


def free_port():
    """A TCP port on 127.0.0.1 that is free right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(condition, timeout=30.0, interval=0.05, what=None):
    """Polls condition() until it returns something true and returns that; after timeout
    seconds returns its last (false) result, or raises AssertionError naming `what` if given.

    The one polling helper of the tests: wait for the state a test needs, never for a fixed
    time. Deadlines are generous (a loaded 2-core machine stalls for seconds); a condition
    that holds returns at once, so a generous deadline costs nothing when things work."""
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() > deadline:
            if what is not None:
                raise AssertionError(f"{what}: not within {timeout}s (last: {result!r})")
            return result
        time.sleep(interval)


def wait_for_port(port, timeout=60.0, proc=None, what="service"):
    """Waits until 127.0.0.1:port accepts a connection."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            pass
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"{what} exited with code {proc.returncode} before listening "
                               f"on port {port}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"{what} did not listen on 127.0.0.1:{port} within {timeout}s")
        time.sleep(0.02)


def pid_alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie child of ours still answers kill(0); look at its state.
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def children_of(pid):
    """Direct children of pid (from /proc)."""
    result = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            result.append(int(entry))
    return result


def wait_pids_gone(pids, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not any(pid_alive(p) for p in pids):
            return True
        time.sleep(0.02)
    return not any(pid_alive(p) for p in pids)


# ---------------------------------------------------------------------------------------------
# memcached
# ---------------------------------------------------------------------------------------------

class Memcached:
    """A private memcached on 127.0.0.1 (UDP off). stop()/start() keep the port, so an
    outage can be simulated and ended."""

    def __init__(self, port=None, memory_mb=64):
        self.port = port or free_port()
        self.memory_mb = memory_mb
        self.proc = None

    @property
    def address(self):
        return f"127.0.0.1:{self.port}"

    def start(self):
        if self.proc is not None:
            return self
        cmd = [MEMCACHED, "-l", "127.0.0.1", "-p", str(self.port), "-U", "0",
               "-m", str(self.memory_mb)]
        if is_root():
            # memcached refuses to run as root without -u. Not "-u nobody": a change of user
            # would clear the parent-death signal (_die_with_parent).
            cmd += ["-u", "root"]
        self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.PIPE, preexec_fn=_die_with_parent)
        _live.add(self)
        try:
            wait_for_port(self.port, proc=self.proc, what="memcached")
        except RuntimeError as e:
            err = self.proc.stderr.read().decode(errors="replace") if self.proc.poll() is not None else ""
            self.proc = None
            raise RuntimeError(f"{e}: {err.strip()}") from None
        return self

    def stop(self):
        if self.proc is None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        if self.proc.stderr:
            self.proc.stderr.close()
        self.proc = None
        _live.discard(self)

    def restart(self):
        self.stop()
        self.start()

    @property
    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def command(self, line):
        """Sends one text-protocol command and returns the reply up to END/a status line."""
        with socket.create_connection(("127.0.0.1", self.port), timeout=5) as s:
            s.sendall(line.encode() + b"\r\n")
            data = b""
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                data += chunk
                if data.endswith(b"END\r\n") or data.endswith(b"ERROR\r\n") or \
                        (not line.startswith(("stats", "get", "gets")) and data.endswith(b"\r\n")):
                    break
            return data.decode(errors="replace")

    def stats(self):
        """`stats` as a dict of str -> str."""
        result = {}
        for row in self.command("stats").splitlines():
            parts = row.split()
            if len(parts) == 3 and parts[0] == "STAT":
                result[parts[1]] = parts[2]
        return result

    def flush(self):
        self.command("flush_all")

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


# ---------------------------------------------------------------------------------------------
# Dovecot
# ---------------------------------------------------------------------------------------------

CONFIG_TEMPLATE = """\
# Generated by tests/integration/sandbox.py
instance_name = {instance}
base_dir = {run}/base
state_dir = {run}/state
log_path = {run}/dovecot.log
protocols = imap submission{pop3_protocol}
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
auth_verbose = yes
auth_verbose_passwords = no
auth_debug = {auth_debug}
auth_failure_delay = 0
login_trusted_networks = 127.0.0.0/8
default_internal_user = {internal_user}
default_internal_group = {internal_group}
default_login_user = {login_user}
first_valid_uid = {first_valid_uid}
mail_location = maildir:~/Maildir
mail_plugin_dir = {mail_plugin_dir}
hostname = test.invalid

passdb {{
  driver = passwd-file
  args = scheme=PLAIN {run}/users
  result_success = continue-ok
}}
{guard_passdb}
userdb {{
  driver = passwd-file
  args = {run}/users
  default_fields = uid={mail_uid} gid={mail_gid} home={run}/home/%u
}}
service imap-login {{
  inet_listener imap {{
    port = {imap_port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service submission-login {{
  inet_listener submission {{
    port = {submission_port}
  }}
}}
service pop3-login {{
  inet_listener pop3 {{
    port = {pop3_port}
  }}
}}
submission_relay_host = 127.0.0.1
submission_relay_port = {relay_port}
{unprivileged}
plugin {{
{plugin}
}}
{extra}
"""

GUARD_PASSDB_TEMPLATE = """\
passdb {{
  driver = account_guard
{skip}  mechanisms = plain login
{extra}}}
"""

# Master users ("user*master" logs in as user with the master's password).
# pass = yes: the lookup continues to the normal passdbs, the guard among them, with the
# master user's verified password.
MASTER_PASSDB_TEMPLATE = """\
auth_master_user_separator = *
passdb {{
  driver = passwd-file
  master = yes
  args = scheme=PLAIN {path}
  pass = yes
}}
"""

# Unprivileged run: no chroot, every service as ourselves.
UNPRIVILEGED = """\
service anvil {
  chroot =
}
service ipc {
  chroot =
}
service old-stats {
  chroot =
}
service aggregator {
  chroot =
}
service director {
  chroot =
}
service imap-urlauth-login {
  chroot =
}
service managesieve-login {
  chroot =
}
service auth-worker {
  user = $default_internal_user
}
"""


class Dovecot:
    """A sandboxed Dovecot (imap + submission) in a private temporary directory.

    users:      {name: password} or {name: (password, "extra=fields ...")}; extra fields are
                the passwd-file fields after the 7th colon (passdb extra fields / userdb fields).
    settings:   account_guard_* settings for the plugin {} block (values as strings);
                account_guard_memcached_servers defaults to the given memcached.
    guard:      chain the account_guard passdb (False: plain passwd-file, for harness checks).
    guard_passdb_extra: extra lines for the guard's passdb block,
                e.g. "result_internalfail = return-fail".
    guard_skip: the guard passdb's `skip` value (README "Install and enable": "unauthenticated");
                None leaves the line out (a misconfiguration the driver must survive).
    master_users: {name: password} of master users ("user*name" logs in as user).
    extra_conf: appended to the configuration as is.
    """

    def __init__(self, memcached=None, settings=None, users=None, guard=True,
                 guard_passdb_extra="", guard_skip="unauthenticated", master_users=None,
                 extra_conf="", auth_debug=False,
                 mail_plugin_dir="/usr/lib/dovecot/modules", keep=None, pop3=False):
        self.memcached = memcached
        self.settings = dict(settings or {})
        if memcached is not None:
            self.settings.setdefault("account_guard_memcached_servers", memcached.address)
        # The product's 100 ms bound on a memcached operation is for a production network; a
        # 2-core CI machine that builds and tests at once can stall a loopback answer longer,
        # which would turn into a fail-open login nobody recorded. Tests of the timeout
        # itself set it explicitly.
        self.settings.setdefault("account_guard_memcached_timeout", "2s")
        self.users = {}
        for name, value in (users or {}).items():
            if isinstance(value, tuple):
                self.users[name] = (value[0], value[1])
            else:
                self.users[name] = (value, "")
        self.guard = guard
        self.guard_passdb_extra = guard_passdb_extra
        self.guard_skip = guard_skip
        self.master_users = dict(master_users or {})
        self.extra_conf = extra_conf
        self.auth_debug = auth_debug
        self.mail_plugin_dir = mail_plugin_dir
        self.keep = keep if keep is not None else bool(os.environ.get("AG_KEEP_SANDBOX"))
        self.run = None
        self.master_proc = None
        self.master_pid = None
        self.relay_proc = None
        self.imap_port = self.submission_port = self.relay_port = None
        # POP3 is opt-in (Debian's dovecot-pop3d): most tests need no third listener.
        self.pop3 = pop3
        self.pop3_port = None

    # -- paths ----------------------------------------------------------------------------
    # A sandbox that failed to start has no directory any more (run is None): its paths are
    # None then, and log() is empty (the start-up error carried the log tail).
    @property
    def config_path(self):
        return os.path.join(self.run, "dovecot.conf") if self.run else None

    @property
    def log_path(self):
        return os.path.join(self.run, "dovecot.log") if self.run else None

    @property
    def users_path(self):
        return os.path.join(self.run, "users")

    @property
    def master_users_path(self):
        return os.path.join(self.run, "master-users")

    @property
    def relay_maildir(self):
        return os.path.join(self.run, "relay")

    # -- configuration --------------------------------------------------------------------
    def _write_users(self):
        lines = []
        for name, (password, extra) in self.users.items():
            if ":" in name or ":" in password or "\n" in password:
                raise ValueError("passwd-file users and passwords cannot contain ':' or newline")
            lines.append(f"{name}:{{PLAIN}}{password}::::::{extra}\n")
        tmp = self.users_path + ".new"
        old_mtime = None
        try:
            old_mtime = os.stat(self.users_path).st_mtime
        except FileNotFoundError:
            pass
        with open(tmp, "w") as f:
            f.writelines(lines)
        os.chmod(tmp, 0o644)
        os.replace(tmp, self.users_path)
        if old_mtime is not None:
            # passwd-file re-reads when mtime or size changed: make sure mtime does.
            new = max(time.time(), old_mtime + 2)
            os.utime(self.users_path, (new, new))
            # ...but it looks at the file at most once per second (db-passwd-file.c,
            # last_sync_time == ioloop_time): let the second in which it last looked pass.
            written = time.time()
            while int(time.time()) <= int(written):
                time.sleep(0.05)

    def set_password(self, user, password):
        """Changes a user's password in the passwd-file (Dovecot sees it at the next login)."""
        _, extra = self.users[user]
        self.users[user] = (password, extra)
        self._write_users()

    def set_user(self, user, password, extra=""):
        self.users[user] = (password, extra)
        self._write_users()

    def _plugin_block(self):
        return "\n".join(f"  {k} = {v}" for k, v in self.settings.items())

    def config_text(self):
        if is_root():
            internal_user, internal_group = "dovecot", "dovecot"
            login_user = "dovenull"
            mail_uid = mail_gid = "mail"
            first_valid_uid = 8
            unprivileged = ""
        else:
            me = pwd.getpwuid(os.getuid())
            internal_user = login_user = me.pw_name
            internal_group = grp.getgrgid(os.getgid()).gr_name
            mail_uid, mail_gid = str(os.getuid()), str(os.getgid())
            first_valid_uid = min(os.getuid(), 500) or 1
            unprivileged = UNPRIVILEGED + "".join(
                f"service {s} {{\n  chroot =\n}}\n" for s in ("imap-login", "submission-login",
                                                          "pop3-login"))
        guard_passdb = ""
        if self.guard:
            extra = "".join(f"  {line.strip()}\n" for line in
                            self.guard_passdb_extra.splitlines() if line.strip())
            skip = f"  skip = {self.guard_skip}\n" if self.guard_skip is not None else ""
            guard_passdb = GUARD_PASSDB_TEMPLATE.format(skip=skip, extra=extra)
        if self.master_users:
            guard_passdb = MASTER_PASSDB_TEMPLATE.format(path=self.master_users_path) + \
                guard_passdb
        return CONFIG_TEMPLATE.format(
            instance=self.instance, run=self.run,
            auth_debug="yes" if self.auth_debug else "no",
            internal_user=internal_user, internal_group=internal_group,
            login_user=login_user, first_valid_uid=first_valid_uid,
            mail_plugin_dir=self.mail_plugin_dir, guard_passdb=guard_passdb,
            mail_uid=mail_uid, mail_gid=mail_gid,
            imap_port=self.imap_port, submission_port=self.submission_port,
            pop3_protocol=" pop3" if self.pop3 else "", pop3_port=self.pop3_port or 0,
            relay_port=self.relay_port, unprivileged=unprivileged,
            plugin=self._plugin_block(), extra=self.extra_conf)

    # -- life cycle -----------------------------------------------------------------------
    def start(self):
        try:
            return self._start()
        except BaseException:
            self.stop()
            if self.run and not self.keep:
                shutil.rmtree(self.run, ignore_errors=True)
                self.run = None
            raise

    def _start(self):
        if self.run is None:
            self.run = tempfile.mkdtemp(prefix="ag-dovecot-")
            # The auth process (user dovecot) reads the users file below it.
            os.chmod(self.run, 0o755)
            self.instance = "ag-test-" + os.path.basename(self.run).split("-")[-1]
            home = os.path.join(self.run, "home")
            os.mkdir(home)
            # A complete Maildir: aiosmtpd's Mailbox creates tmp/new/cur only for a
            # directory that does not exist yet.
            for sub in ("tmp", "new", "cur"):
                os.makedirs(os.path.join(self.relay_maildir, sub))
            if is_root():
                mail = pwd.getpwnam("mail")
                os.chown(home, mail.pw_uid, mail.pw_gid)
            self.imap_port, self.submission_port, self.relay_port = self._three_ports()
            if self.pop3:
                self.pop3_port = free_port()
        self._write_users()
        if self.master_users:
            with open(self.master_users_path, "w") as f:
                f.writelines(f"{n}:{{PLAIN}}{p}\n" for n, p in self.master_users.items())
            os.chmod(self.master_users_path, 0o644)
        with open(self.config_path, "w") as f:
            f.write(self.config_text())
        _live.add(self)
        self._start_relay()
        # The master in the foreground (-F), as our child: we reap it, and it gets SIGTERM
        # if this process dies. Its own early errors go to startup.log.
        startup_log = os.path.join(self.run, "startup.log")
        with open(startup_log, "w") as out:
            self.master_proc = subprocess.Popen(
                [DOVECOT, "-F", "-c", self.config_path], stdin=subprocess.DEVNULL,
                stdout=out, stderr=subprocess.STDOUT, preexec_fn=_die_with_parent)
        self.master_pid = self.master_proc.pid
        try:
            wait_for_port(self.imap_port, proc=self.master_proc, what="dovecot imap-login")
            wait_for_port(self.submission_port, proc=self.master_proc,
                          what="dovecot submission-login")
            if self.pop3:
                wait_for_port(self.pop3_port, proc=self.master_proc, what="dovecot pop3-login")
        except RuntimeError as e:
            with open(startup_log, errors="replace") as f:
                startup = f.read().strip()
            raise RuntimeError(f"{e}\n{startup}\n{self.log_tail()}") from None
        return self

    @staticmethod
    def _three_ports():
        socks = []
        try:
            for _ in range(3):
                s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                s.bind(("127.0.0.1", 0))
                socks.append(s)
            return [s.getsockname()[1] for s in socks]
        finally:
            for s in socks:
                s.close()

    def _start_relay(self):
        if self.relay_proc is not None and self.relay_proc.poll() is None:
            return
        # The relay sink: submission needs a listening submission_relay_host.
        # Accepted messages are stored as a Maildir in self.relay_maildir.
        self.relay_proc = subprocess.Popen(
            [SYSTEM_PYTHON, "-m", "aiosmtpd", "-n", "-l", f"127.0.0.1:{self.relay_port}",
             "-c", "aiosmtpd.handlers.Mailbox", self.relay_maildir],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            cwd=self.run, preexec_fn=_die_with_parent)
        wait_for_port(self.relay_port, proc=self.relay_proc, what="relay sink (aiosmtpd)")

    def _stop_relay(self):
        if self.relay_proc is None:
            return
        self.relay_proc.terminate()
        try:
            self.relay_proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.relay_proc.kill()
            self.relay_proc.wait()
        self.relay_proc = None

    def reload(self):
        """Rewrites the configuration (after changing settings) and reloads Dovecot."""
        with open(self.config_path, "w") as f:
            f.write(self.config_text())
        reloads = self.log().count("SIGHUP received")
        code, out, err = self.doveadm("reload")
        if code != 0:
            raise RuntimeError(f"doveadm reload failed: {out}{err}")
        # Done when the master says it reloaded and its listeners answer again.
        wait_until(lambda: self.log().count("SIGHUP received") > reloads, 30,
                   what="Dovecot's master to log the reload")
        wait_for_port(self.imap_port, proc=self.master_proc, what="dovecot imap-login")
        wait_for_port(self.submission_port, proc=self.master_proc,
                      what="dovecot submission-login")

    def stop(self):
        """Stops the master and waits until every Dovecot process of this instance is gone."""
        try:
            proc = self.master_proc
            if proc is not None and proc.poll() is None:
                tree = self._process_tree(proc.pid)
                proc.terminate()
                try:
                    proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    pass
                if not wait_pids_gone(tree, 5):
                    for pid in tree:
                        try:
                            os.kill(pid, signal.SIGKILL)
                        except ProcessLookupError:
                            pass
                    proc.wait()
                    wait_pids_gone(tree, 5)
            self.master_proc = None
            self.master_pid = None
        finally:
            self._stop_relay()
            _live.discard(self)

    @staticmethod
    def _process_tree(root):
        pids = [root]
        i = 0
        while i < len(pids):
            pids.extend(children_of(pids[i]))
            i += 1
        return pids

    def cleanup(self):
        self.stop()
        if self.run and not self.keep:
            shutil.rmtree(self.run, ignore_errors=True)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.cleanup()

    # -- log --------------------------------------------------------------------------------
    def log(self):
        if self.log_path is None:
            return ""
        try:
            with open(self.log_path, errors="replace") as f:
                return f.read()
        except FileNotFoundError:
            return ""

    def log_tail(self, lines=60):
        return "\n".join(self.log().splitlines()[-lines:])

    def wait_for_log(self, needle, timeout=30.0):
        """Waits until the log contains needle (a str); returns the log text (without needle
        after the timeout: the caller's assertion shows it)."""
        wait_until(lambda: needle in self.log(), timeout)
        return self.log()

    # -- clients ----------------------------------------------------------------------------
    def doveadm(self, *args, timeout=60):
        """Runs `doveadm -c CONF ARGS...`; returns (exit code, stdout, stderr).
        Global options (-f FORMAT, -D) go first in args, as with doveadm itself."""
        opts, rest = [], list(args)
        while rest and rest[0] in ("-f", "-D", "-v"):
            opts.append(rest.pop(0))
            if opts[-1] == "-f":
                opts.append(rest.pop(0))
        res = subprocess.run([DOVEADM, *opts, "-c", self.config_path, *rest],
                             stdin=subprocess.DEVNULL, capture_output=True, text=True,
                             timeout=timeout)
        return res.returncode, res.stdout, res.stderr

    def auth_test(self, user, password, rip, service="smtp"):
        """`doveadm auth test -x rip=RIP -x service=SERVICE USER PASSWORD`;
        returns (exit code, stdout + stderr). 0 = success, 77 = auth failed."""
        code, out, err = self.doveadm("auth", "test", "-x", f"rip={rip}",
                                      "-x", f"service={service}", user, password)
        return code, out + err

    def smtp_login(self, user, password, rip, timeout=30):
        """A real SMTP AUTH PLAIN on submission-login, with the client address set by
        XCLIENT ADDR=rip (loopback is a trusted network). Returns (code, text)."""
        smtp = smtplib.SMTP("127.0.0.1", self.submission_port, local_hostname="client.test",
                            timeout=timeout)
        try:
            smtp.ehlo()
            if not smtp.has_extn("xclient"):
                raise RuntimeError("submission-login does not offer XCLIENT "
                                   "(is 127.0.0.0/8 in login_trusted_networks?)")
            code, msg = smtp.docmd("XCLIENT", f"ADDR={rip}")
            if code != 220:
                raise RuntimeError(f"XCLIENT ADDR={rip} failed: {code} {msg!r}")
            smtp.ehlo_resp = None
            smtp.ehlo()
            token = base64.b64encode(f"\0{user}\0{password}".encode()).decode()
            code, msg = smtp.docmd("AUTH", f"PLAIN {token}")
            return code, msg.decode(errors="replace")
        finally:
            try:
                smtp.quit()
            except (smtplib.SMTPException, OSError):
                smtp.close()

    def imap_login(self, user, password, rip, timeout=30):
        """A real IMAP LOGIN on imap-login, with the client address set by
        ID ("x-originating-ip" rip) first. Returns (ok, text of the tagged reply),
        e.g. (False, "[ALERT] Account locked ...")."""
        imap = imaplib.IMAP4("127.0.0.1", self.imap_port, timeout=timeout)
        try:
            typ, data = imap._simple_command("ID", f'("x-originating-ip" "{rip}")')
            if typ != "OK":
                raise RuntimeError(f"IMAP ID failed: {typ} {data!r}")
            typ, data = imap._simple_command("LOGIN", imap._quote(user), imap._quote(password))
            text = b" ".join(d for d in data if isinstance(d, bytes)).decode(errors="replace")
            if typ == "OK":
                imap.state = "AUTH"
            return typ == "OK", text
        finally:
            try:
                imap.logout()
            except (imaplib.IMAP4.error, OSError):
                try:
                    imap.shutdown()
                except OSError:
                    pass

    def pop3_login(self, user, password, rip, timeout=30):
        """A real POP3 USER/PASS on pop3-login (pop3=True), with the client address set by
        XCLIENT ADDR=rip first (loopback is a trusted network). Returns (ok, reply text)."""
        pop = poplib.POP3("127.0.0.1", self.pop3_port, timeout=timeout)
        try:
            reply = pop._shortcmd(f"XCLIENT ADDR={rip}")
            if not reply.startswith(b"+OK"):
                raise RuntimeError(f"POP3 XCLIENT ADDR={rip} failed: {reply!r}")
            pop.user(user)
            try:
                return True, pop.pass_(password).decode(errors="replace")
            except poplib.error_proto as e:
                return False, str(e)
        finally:
            try:
                pop.quit()
            except (poplib.error_proto, OSError):
                pop.close()

    # -- account_guard doveadm commands -----------------------------------------------------
    def account_status(self, user, fmt="json"):
        """`doveadm -f FORMAT account-status USER`: (exit code, stdout, stderr)."""
        return self.doveadm("-f", fmt, "account-status", user)


ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def built(subdir, name):
    """The path of a program of the build tree, <build>/SUBDIR/NAME, where <build> is
    $AG_BUILD_DIR or build/ at the repository root. Fails the calling test (without a
    traceback) when it is not built."""
    build = os.environ.get("AG_BUILD_DIR") or os.path.join(ROOT, "build")
    path = os.path.join(build, subdir, name)
    if not os.access(path, os.X_OK):
        message = (f"{path} is not built (meson compile -C {build}; set AG_BUILD_DIR for "
                   f"another build directory)")
        try:
            import pytest
        except ImportError:
            raise RuntimeError(message) from None
        pytest.fail(message, pytrace=False)
    return path


def modules_installed():
    """Missing module links, as a list of paths (empty if both are in place)."""
    return [p for p in (AUTH_MODULE, DOVEADM_MODULE) if not os.path.exists(p)]
