"""dovecot-account-guard demo: an account locked by logins from many networks, refused, unlocked;
a sender stopped at its recipient limit; the postmaster told once per incident.

Starts a private memcached and a sandboxed Dovecot on 127.0.0.1 (tests/integration/sandbox.py),
logs in over real SMTP AUTH and IMAP with simulated client addresses (XCLIENT / ID from the
trusted loopback network; nothing is sent to those addresses), and stops everything at the end,
also on Ctrl-C or an error. Run it through tests/demo/run (as root, with Debian's python3).
"""

import os
import re
import signal
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))

import sandbox  # noqa: E402
import submission_helpers as submission  # noqa: E402

USERS = {"alice": "Alice-demo-pw-4Kq8", "bob": "Bob-demo-pw-9Jw2"}
LIMIT = "10/1h"
RCPT_LIMIT = "5/1h"
POSTMASTER = "postmaster@test.invalid"
COLOR = sys.stdout.isatty() and os.environ.get("NO_COLOR") is None


def style(code, text):
    return f"\033[{code}m{text}\033[0m" if COLOR else text


def say(text=""):
    print(text, flush=True)


def step(n, title):
    say()
    say(style("1", f"[{n}] {title}"))


def good(text):
    return style("32", text)


def bad(text):
    return style("31", text)


def network(n):
    # Distinct /24 networks from 198.18.0.0/15 (RFC 2544 benchmarking range, never routed).
    return f"198.18.{n}.{10 + n}"


GUARD_LINE = re.compile(r"^\w+ +\d+ ([\d:]+) [^:]+: (\w+): .*?account_guard(\([^)]*\))?: (.*)$")


def guard_log_lines(log):
    """The guard's log lines, shortened: time, level, (user,client), message."""
    for line in log.splitlines():
        m = GUARD_LINE.match(line)
        if m and m.group(2) != "Debug":
            who = re.sub(r",<[^>]*>", "", m.group(3) or "")
            yield f"{m.group(1)} {m.group(2)} {who} {m.group(4)}".replace("  ", " ")


def main():
    missing = sandbox.modules_installed()
    if missing:
        say("modules not linked: " + ", ".join(missing) + " (tests/link-modules)")
        return 2

    memcached = sandbox.Memcached()
    dovecot = None
    # The postmaster's mailbox: an SMTP sink on 127.0.0.1 that notifications are relayed to.
    postmaster = submission.Sink()

    def stop(*_):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    try:
        memcached.start()
        postmaster.start()
        settings = {"account_guard_ip_limit": LIMIT,
                    "account_guard_recipient_limit": RCPT_LIMIT,
                    "account_guard_notify": POSTMASTER,
                    "account_guard_notify_relay": postmaster.address}
        dovecot = sandbox.Dovecot(memcached, settings=settings, users=USERS,
                                  mail_plugin_dir=submission.plugin_dir(),
                                  extra_conf=submission.SUBMISSION_CONF)
        dovecot.start()
        for sub in ("tmp", "new", "cur"):
            os.makedirs(os.path.join(dovecot.relay_maildir, sub), exist_ok=True)

        step(1, "A sandboxed Dovecot with the account_guard passdb, memcached as shared state")
        say(f"  memcached       127.0.0.1:{memcached.port}")
        say(f"  Dovecot         IMAP 127.0.0.1:{dovecot.imap_port}, "
            f"submission 127.0.0.1:{dovecot.submission_port}  ({dovecot.run})")
        say("  configuration:")
        say("    passdb { driver = passwd-file ... result_success = continue-ok }")
        say("    passdb { driver = account_guard  skip = unauthenticated  "
            "mechanisms = plain login }")
        say("    plugin {")
        for key, value in dovecot.settings.items():
            say(f"      {key} = {value}")
        say("    }")
        say("    protocol submission { mail_plugins = $mail_plugins account_guard }")
        say(f"  => more than {LIMIT.split('/')[0]} distinct client networks within "
            f"{LIMIT.split('/')[1]} lock the account;")
        say(f"     more than {RCPT_LIMIT.split('/')[0]} recipients within "
            f"{RCPT_LIMIT.split('/')[1]} get 451 on submission; the postmaster gets one mail "
            "per incident")

        step(2, "alice logs in over SMTP AUTH (submission) from 10 different networks")
        for n in range(1, 11):
            code, text = dovecot.smtp_login("alice", USERS["alice"], network(n))
            mark = good("accepted") if code == 235 else bad("REFUSED")
            say(f"  XCLIENT ADDR={network(n):<14} AUTH PLAIN alice -> {code} {text}  {mark}")
            if code != 235:
                raise RuntimeError("an expected login was refused")

        step(3, "an 11th network: the account is locked and this login already refused")
        code, text = dovecot.smtp_login("alice", USERS["alice"], network(11))
        say(f"  XCLIENT ADDR={network(11):<14} AUTH PLAIN alice -> {bad(f'{code} {text}')}")
        if code != 535:
            raise RuntimeError("the 11th network did not lock the account")

        step(4, "doveadm account-status alice")
        code, out, err = dovecot.doveadm("-f", "pager", "account-status", "alice")
        for line in (out + err).rstrip().splitlines():
            say("  " + line)

        step(5, "alice over IMAP, from her usual network: refused while locked")
        ok, text = dovecot.imap_login("alice", USERS["alice"], network(1).rsplit(".", 1)[0] + ".77")
        say(f"  a1 LOGIN alice -> {good('OK ' + text) if ok else bad('NO ' + text)}")

        step(6, "bob is not affected, even from the same networks")
        code, text = dovecot.smtp_login("bob", USERS["bob"], network(11).rsplit(".", 1)[0] + ".99")
        say(f"  AUTH PLAIN bob -> {good(f'{code} {text}') if code == 235 else bad(f'{code} {text}')}")

        step(7, "the postmaster unlocks alice: doveadm account-unlock alice")
        code, out, err = dovecot.doveadm("account-unlock", "alice")
        say(f"  exit code {code}{(': ' + (out + err).strip()) if (out + err).strip() else ''}")
        code, out, err = dovecot.doveadm("-f", "pager", "account-status", "alice")
        for line in out.rstrip().splitlines():
            say("  " + line)

        step(8, "alice logs in again")
        code, text = dovecot.smtp_login("alice", USERS["alice"], network(12))
        say(f"  XCLIENT ADDR={network(12):<14} AUTH PLAIN alice -> "
            f"{good(f'{code} {text}') if code == 235 else bad(f'{code} {text}')}")
        ok, text = dovecot.imap_login("alice", USERS["alice"], network(12))
        say(f"  a1 LOGIN alice -> {good('OK ' + text) if ok else bad('NO ' + text)}")

        step(9, f"bob sends one message to 7 recipients (limit {RCPT_LIMIT})")
        with submission.SmtpClient(dovecot.submission_port) as smtp:
            smtp.login("bob", USERS["bob"], network(30))
            smtp.mail_from("bob@test.invalid")
            accepted = []
            for n in range(1, 8):
                rcpt = f"friend{n}@example.net"
                reply = smtp.rcpt(rcpt)[-1]
                if reply.startswith("250"):
                    accepted.append(rcpt)
                say(f"  RCPT TO:<{rcpt}> -> {good(reply) if reply.startswith('250') else bad(reply)}")
            reply = smtp.data("Subject: hello\n\nA normal mail.\n")[-1]
            say(f"  DATA -> {good(reply)}  (delivered to the {len(accepted)} accepted recipients)")
        code, out, err = dovecot.doveadm("-f", "pager", "account-status", "bob")
        say("  doveadm account-status bob:")
        for line in out.rstrip().splitlines():
            if line.startswith(("user", "locked", "recipients")):
                say("    " + line)

        step(10, f"the postmaster's mailbox ({POSTMASTER}): one mail per incident")
        mails = postmaster.wait_for(2, timeout=10)
        for m in mails:
            msg = m.message
            say(f"  envelope from <{m.mail_from.strip('<>')}>  "
                f"From: {msg['From']}  Auto-Submitted: {msg['Auto-Submitted']}")
            say(f"  Subject: {style('1', msg['Subject'])}")
            for line in m.text.splitlines()[:12]:
                if line.strip():
                    say("    | " + line)
            say()

        step(11, "what the guard logged (Dovecot log, account_guard lines)")
        for line in guard_log_lines(dovecot.log()):
            say("  " + line)
        say()
        say(good("demo finished") + "; stopping Dovecot and memcached")
        return 0
    except KeyboardInterrupt:
        say("\ninterrupted; stopping Dovecot and memcached")
        return 130
    except Exception as e:  # noqa: BLE001 - report, clean up, fail
        say(bad(f"\ndemo failed: {e}"))
        if dovecot is not None and dovecot.run:
            say("last lines of the Dovecot log:")
            say(dovecot.log_tail(30))
        return 1
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        if dovecot is not None:
            dovecot.cleanup()
        postmaster.stop()
        memcached.stop()


if __name__ == "__main__":
    sys.exit(main())
