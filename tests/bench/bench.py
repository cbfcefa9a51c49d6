"""Runs every benchmark of issue 8 and regenerates tests/bench/RESULTS.md from their output.

Started by tests/bench/run (which builds and links the modules first); by hand:

    /usr/bin/python3 tests/bench/bench.py --build BUILD_DIR [--quick] [--no-perf]

Everything runs on 127.0.0.1: private memcached instances and sandboxed Dovecots from
tests/integration/sandbox.py (imported, not copied), driven by the programs built from
tests/bench/*.cc. Every load is bounded in count and time and stops by itself. Nothing here
asserts a figure: the figures are printed and written to RESULTS.md, with the targets of the
issue next to them.
"""

import argparse
import datetime
import json
import os
import platform
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))

import sandbox  # noqa: E402  (the colleague's fixtures, reused as they are)

USERS = 20000                 # accounts in the passwd-file of every sandbox
LUA_MODULE = "/usr/lib/dovecot/modules/auth/libauthdb_lua.so"


def log(*args):
    print(*args, file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------------------------
# CPU accounting: per process (schedstat: ns on a CPU) and for the whole machine (/proc/stat)
# ---------------------------------------------------------------------------------------------

def cpu_ns(pid):
    """Nanoseconds on a CPU of all threads of pid (memcached has several)."""
    try:
        total = 0
        for tid in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{tid}/schedstat") as f:
                total += int(f.read().split()[0])
        return total
    except (OSError, ValueError, IndexError):
        return None


def machine_ticks():
    with open("/proc/stat") as f:
        fields = f.readline().split()[1:]
    values = [int(v) for v in fields]
    idle = values[3] + values[4]          # idle + iowait
    return sum(values[:8]) - idle, sum(values[:8])


def role_of(pid):
    try:
        comm = open(f"/proc/{pid}/comm").read().strip()
        cmdline = open(f"/proc/{pid}/cmdline").read().split("\0")
    except OSError:
        return None
    if comm == "auth":
        return "auth-worker" if "-w" in cmdline else "auth"
    if comm in ("dovecot", "log", "config", "stats", "anvil"):
        return "anvil" if comm == "anvil" else "dovecot (master, log, config, stats)"
    return comm


class CpuMeter:
    """CPU time of the processes under test between start() and stop(), by role."""

    def __init__(self, roots, extra=None):
        self.roots = roots            # pids whose whole process trees are measured
        self.extra = extra or {}      # pid -> role for single processes (memcached, client)

    def pids(self):
        result = dict(self.extra)
        for root in self.roots:
            for pid in sandbox.Dovecot._process_tree(root):
                role = role_of(pid)
                if role:
                    result.setdefault(pid, role)
        return result

    def start(self):
        self.t0 = time.monotonic()
        self.before = {pid: (role, cpu_ns(pid)) for pid, role in self.pids().items()}
        self.machine0 = machine_ticks()

    def stop(self):
        self.seconds = time.monotonic() - self.t0
        machine1 = machine_ticks()
        by_role = {}
        for pid, role in self.pids().items():
            now = cpu_ns(pid)
            if now is None:
                continue
            start = self.before.get(pid, (role, 0))[1] or 0
            by_role[role] = by_role.get(role, 0) + (now - start) / 1e9
        hz = os.sysconf("SC_CLK_TCK")
        busy = (machine1[0] - self.machine0[0]) / hz
        total = (machine1[1] - self.machine0[1]) / hz
        ours = sum(by_role.values())
        self.result = {
            "seconds": self.seconds,
            "by_role": by_role,
            "machine_busy": busy,
            "machine_total": total,
            "others": max(0.0, busy - ours),
        }
        return self.result


class QuietGate:
    """Before each measured run: wait (within a budget for the whole benchmark) until other
    processes leave the machine mostly idle, so that a neighbour's compile does not land in one
    configuration's figures only. Our own idle sandboxes use no CPU between runs."""

    def __init__(self, budget_s, threshold=0.15):
        self.budget = budget_s
        self.threshold = threshold
        self.waited = 0.0
        self.busy_starts = 0

    def wait(self):
        start = time.monotonic()
        while True:
            b0 = machine_ticks()
            time.sleep(0.5)
            b1 = machine_ticks()
            total = b1[1] - b0[1]
            busy = (b1[0] - b0[0]) / total if total else 0.0
            if busy <= self.threshold:
                break
            if self.waited + (time.monotonic() - start) >= self.budget:
                self.busy_starts += 1
                break
        self.waited += time.monotonic() - start


# ---------------------------------------------------------------------------------------------
# Sandboxes
# ---------------------------------------------------------------------------------------------

class BenchDovecot(sandbox.Dovecot):
    """sandbox.Dovecot with a fast relay sink (smtp-sink) instead of aiosmtpd, which would be
    the bottleneck of the submission benchmark."""

    sink_binary = None
    modules_loaded = set()   # where the auth module symlink pointed when each Dovecot started

    def start(self):
        BenchDovecot.modules_loaded.add(os.path.realpath(sandbox.AUTH_MODULE))
        return super().start()

    def _start_relay(self):
        if self.relay_proc is not None and self.relay_proc.poll() is None:
            return
        self.relay_proc = subprocess.Popen(
            [self.sink_binary, str(self.relay_port), "--max-seconds", "1800"],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
            preexec_fn=sandbox._die_with_parent)
        sandbox.wait_for_port(self.relay_port, proc=self.relay_proc, what="smtp-sink")

    @property
    def auth_socket(self):
        return os.path.join(self.run, "base", "auth-client")


def users_dict():
    return {f"u{i}@bench.example": f"pw-{i}" for i in range(USERS)}


LUA_SCRIPT = """\
-- A passdb that does nothing: every login it sees is fine. Used to measure what Dovecot
-- itself costs for one more passdb in the chain, in the auth process (blocking=no) and in
-- auth-worker (blocking=yes).
function auth_password_verify(req, pass)
  return dovecot.auth.PASSDB_RESULT_OK, ""
end
"""


def lua_passdb(path, blocking):
    return ("passdb {\n"
            "  driver = lua\n"
            f"  args = file={path} blocking={'yes' if blocking else 'no'}\n"
            "  skip = unauthenticated\n"
            "}\n")


# Dovecot's own static passdb after the real one: built in, answers at once, no I/O. The floor for
# any second passdb in the chain: what Dovecot's passdb step costs by itself.
STATIC_PASSDB = ("passdb {\n"
                 "  driver = static\n"
                 "  args = nopassword=y\n"
                 "  skip = unauthenticated\n"
                 "  mechanisms = plain login\n"
                 "}\n")


# ---------------------------------------------------------------------------------------------
# Running the programs
# ---------------------------------------------------------------------------------------------

def run_json_lines(cmd, timeout):
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    if res.returncode not in (0, 1):
        raise RuntimeError(f"{' '.join(cmd)} failed ({res.returncode}): {res.stderr.strip()}")
    if res.stderr.strip():
        log(res.stderr.strip())
    return [json.loads(line) for line in res.stdout.splitlines() if line.startswith("{")]


def auth_load(binary, dovecot, meter=None, perf=None, watch=None, timeout=150, **opts):
    """Runs auth-load against dovecot; measures CPU between its 'measuring' and 'done'.
    perf: a command started at 'measuring' that ends by itself. watch: a callable run at
    'measuring' that returns processes (perf stat -p ...) to be stopped with SIGINT at 'done',
    so that they count over exactly the measured window."""
    cmd = [binary, "--socket", dovecot.auth_socket]
    for k, v in opts.items():
        cmd += ["--" + k.replace("_", "-"), str(v)]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    result = None
    perf_proc = None
    watchers = []
    deadline = time.monotonic() + timeout
    try:
        for line in proc.stdout:
            line = line.strip()
            if line == "measuring":
                if meter:
                    meter.extra[proc.pid] = "load generator"
                    meter.start()
                if perf:
                    perf_proc = subprocess.Popen(perf, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                if watch:
                    watchers = watch()
            elif line == "done":
                if meter:
                    meter.stop()
                for w in watchers:
                    w.send_signal(signal.SIGINT)
            elif line.startswith("{"):
                result = json.loads(line)
            if time.monotonic() > deadline:
                raise RuntimeError("auth-load ran too long")
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        if perf_proc is not None:
            perf_proc.wait(timeout=60)
        for w in watchers:
            if w.poll() is None:
                w.send_signal(signal.SIGINT)
            try:
                w.wait(timeout=30)
            except subprocess.TimeoutExpired:
                w.kill()
                w.wait()
    err = proc.stderr.read().strip()
    if result is None:
        raise RuntimeError(f"auth-load gave no result: {err}")
    if err:
        log("auth-load:", err)
    if meter:
        result["cpu"] = meter.result
    return result


def auth_pid(dovecot):
    """The auth process of a sandboxed Dovecot (not an auth-worker), or None."""
    for pid in sandbox.Dovecot._process_tree(dovecot.master_pid):
        if role_of(pid) == "auth":
            return pid
    return None


def fds_to_port(pid, port):
    """The file descriptors of pid that are TCP connections to 127.0.0.1:port (its memcached
    connections), from /proc/PID/fd and /proc/PID/net/tcp."""
    inodes = set()
    for table in ("tcp", "tcp6"):
        try:
            with open(f"/proc/{pid}/net/{table}") as f:
                next(f)
                for row in f:
                    fields = row.split()
                    if int(fields[2].rsplit(":", 1)[1], 16) == port:
                        inodes.add(fields[9])
        except (OSError, StopIteration, IndexError, ValueError):
            pass
    fds = []
    try:
        for fd in os.listdir(f"/proc/{pid}/fd"):
            try:
                target = os.readlink(f"/proc/{pid}/fd/{fd}")
            except OSError:
                continue
            if target.startswith("socket:[") and target[8:-1] in inodes:
                fds.append(int(fd))
    except OSError:
        pass
    return sorted(fds)


# (key, tracepoint, only on the memcached connections): what perf_stat_cmd counts, in order.
SYSCALL_EVENTS = [
    ("all", "raw_syscalls:sys_enter", False),
    ("epoll_wait", "syscalls:sys_enter_epoll_wait", False),
    ("epoll_wait", "syscalls:sys_enter_epoll_pwait", False),
    ("epoll_ctl", "syscalls:sys_enter_epoll_ctl", False),
    ("read", "syscalls:sys_enter_read", False),
    ("read", "syscalls:sys_enter_readv", False),
    ("read", "syscalls:sys_enter_recvfrom", False),
    ("read", "syscalls:sys_enter_recvmsg", False),
    ("write", "syscalls:sys_enter_write", False),
    ("write", "syscalls:sys_enter_writev", False),
    ("write", "syscalls:sys_enter_sendto", False),
    ("write", "syscalls:sys_enter_sendmsg", False),
    ("mc_recv", "syscalls:sys_enter_read", True),
    ("mc_recv", "syscalls:sys_enter_readv", True),
    ("mc_recv", "syscalls:sys_enter_recvfrom", True),
    ("mc_recv", "syscalls:sys_enter_recvmsg", True),
    ("mc_send", "syscalls:sys_enter_write", True),
    ("mc_send", "syscalls:sys_enter_writev", True),
    ("mc_send", "syscalls:sys_enter_sendto", True),
    ("mc_send", "syscalls:sys_enter_sendmsg", True),
]


def perf_stat_events(fds):
    return [e for e in SYSCALL_EVENTS if not e[2] or fds]


def perf_stat_cmd(path, pid, fds):
    """perf stat of pid's system calls (every thread) until SIGINT, into path; the mc_* events
    only on the file descriptors fds."""
    cmd = ["perf", "stat", "-x", ",", "-o", path, "-p", str(pid)]
    flt = " || ".join(f"fd == {fd}" for fd in fds)
    for _, tracepoint, only_fds in perf_stat_events(fds):
        cmd += ["-e", tracepoint]
        if only_fds:
            cmd += ["--filter", flt]
    return cmd


def read_perf_stat(path):
    """{key: count} from perf stat -x, output written by perf_stat_cmd (events in order)."""
    counts = []
    try:
        with open(path) as f:
            for line in f:
                fields = line.strip().split(",")
                if len(fields) >= 3 and (fields[2].startswith("syscalls:") or fields[2].startswith("raw_syscalls:")):
                    counts.append(int(fields[0]) if fields[0].isdigit() else 0)
    except OSError:
        return {}
    with_fds = len(counts) == len(SYSCALL_EVENTS)
    out = {}
    for (key, _, _), c in zip(perf_stat_events([0] if with_fds else []), counts):
        out[key] = out.get(key, 0) + c
    return out


def smtp_load(binary, port, between=None, meter=None, timeout=200, **opts):
    """Runs smtp-load with --barrier: between() runs once all sessions are logged in (before the
    first transaction) and its value is returned with the figures; the meter runs from there to
    'done'."""
    cmd = [binary, "--port", str(port), "--barrier"]
    for k, v in opts.items():
        cmd += ["--" + k.replace("_", "-"), str(v)]
    proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    result, before = None, None
    try:
        for line in proc.stdout:
            line = line.strip()
            if line == "ready":
                if between:
                    before = between()
                if meter:
                    meter.extra[proc.pid] = "load generator"
                    meter.start()
                proc.stdin.write("go\n")
                proc.stdin.flush()
            elif line == "done":
                if meter:
                    meter.stop()
                proc.stdin.write("quit\n")
                proc.stdin.flush()
            elif line.startswith("{"):
                result = json.loads(line)
        proc.wait(timeout=timeout)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    err = proc.stderr.read().strip()
    if result is None:
        raise RuntimeError(f"smtp-load gave no result: {err}")
    if err:
        log("smtp-load:", err)
    if meter:
        result["cpu"] = meter.result
    return result, before


MC_COUNTED = ("cmd_get", "get_hits", "get_misses", "cmd_set", "cas_hits", "cas_misses", "cas_badval",
              "cmd_touch", "delete_hits", "delete_misses", "incr_hits", "incr_misses", "decr_hits",
              "decr_misses", "total_connections")


def measure_child(cmd, timeout):
    """Runs cmd with its stdout counted (lines, and the last one kept: the replay's summary) and
    returns its wall time, CPU time and peak resident memory. os.wait4 gives the rusage of that
    one child, so no earlier process's maximum mixes in."""
    err = tempfile.TemporaryFile()
    t0 = time.monotonic()
    proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=err)
    lines, tail = 0, b""
    deadline = t0 + timeout
    while True:
        chunk = proc.stdout.read1(1 << 20)
        if not chunk:
            break
        lines += chunk.count(b"\n")
        tail = (tail + chunk)[-65536:]
        if time.monotonic() > deadline:
            proc.kill()
            break
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.monotonic() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    proc.stdout.close()
    err.seek(0)
    stderr = err.read().decode(errors="replace").strip()
    err.close()
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({proc.returncode}): {stderr[-500:]}")
    summary = {}
    last = tail.rstrip(b"\n").rsplit(b"\n", 1)[-1]
    try:
        summary = json.loads(last).get("summary", {})
    except ValueError:
        pass
    return {"seconds": seconds, "cpu_s": usage.ru_utime + usage.ru_stime, "maxrss_kb": usage.ru_maxrss,
            "lines": lines, "summary": summary, "unparsable": summary.get("unparsable", "?"),
            "stderr": stderr[-300:]}


def mc_counters(mc):
    s = mc.stats()
    return {k: int(s.get(k, 0)) for k in MC_COUNTED}


def mc_per_op(before, after, n):
    return {k: (after[k] - before[k]) / n for k in MC_COUNTED}


def median(values):
    v = sorted(values)
    return v[len(v) // 2] if len(v) % 2 else (v[len(v) // 2 - 1] + v[len(v) // 2]) / 2


# ---------------------------------------------------------------------------------------------
# The benchmarks
# ---------------------------------------------------------------------------------------------

class Bench:
    def __init__(self, args):
        self.args = args
        self.build = os.path.abspath(args.build)
        b = os.path.join(self.build, "tests", "bench")
        self.bin = {name: os.path.join(b, name) for name in
                    ("engine-bench", "store-bench", "auth-load", "smtp-load", "smtp-sink",
                     "replay-input")}
        self.country_db = os.path.join(b, "bench-country.mmdb")
        self.asn_db = os.path.join(b, "bench-asn.mmdb")
        self.plugin_dir = os.path.join(self.build, "plugin")
        BenchDovecot.sink_binary = self.bin["smtp-sink"]
        self.results = {"notes": [], "users": USERS}
        self.tmp = tempfile.mkdtemp(prefix="ag-bench-")
        os.chmod(self.tmp, 0o755)
        self.quick = args.quick
        self.gate = QuietGate(budget_s=10 if args.quick else 90)

    def cleanup(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    # -- machine --------------------------------------------------------------------------
    def machine(self):
        def first(cmd):
            try:
                return subprocess.run(cmd, capture_output=True, text=True, timeout=10).stdout.strip()
            except (OSError, subprocess.SubprocessError):
                return "?"
        cpu_model = "?"
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu_model = line.split(":", 1)[1].strip()
                    break
        mem_kb = 0
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemTotal:"):
                    mem_kb = int(line.split()[1])
        commit = first(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"])
        dirty = first(["git", "-C", ROOT, "status", "--porcelain", "--untracked-files=no"])
        buildtype = "?"
        try:
            intro = json.loads(first(["meson", "introspect", "--buildoptions", self.build]))
            buildtype = next(o["value"] for o in intro if o["name"] == "buildtype")
        except (ValueError, StopIteration):
            pass
        self.results["machine"] = {
            "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
            "nproc": os.cpu_count(),
            "nproc_cmd": first(["nproc"]),
            "cpu": cpu_model,
            "memory_gib": round(mem_kb / 1024 / 1024, 1),
            "kernel": platform.release(),
            "dovecot": first(["dovecot", "--version"]),
            "memcached": first(["memcached", "-V"]),
            "commit": commit + (" (with uncommitted changes)" if dirty else ""),
            "buildtype": buildtype,
            "loadavg_start": open("/proc/loadavg").read().split()[:3],
            "lua": os.path.exists(LUA_MODULE),
        }

    # -- item 1 and 6: the engine alone ----------------------------------------------------
    def engine(self):
        log("== engine (items 1, 6)")
        self.gate.wait()
        res = subprocess.run([self.bin["engine-bench"], self.country_db, self.asn_db],
                             capture_output=True, text=True, timeout=300)
        if res.returncode != 0:
            raise RuntimeError("engine-bench failed: " + res.stderr)
        text = res.stdout.rstrip()
        print(text, flush=True)
        figures = {}
        for line in text.splitlines():
            m = re.match(r"\s*(.+?):\s+([\d.]+) /s\s+\(([\d.]+) us each\)", line)
            if m:
                figures[m.group(1).strip()] = float(m.group(2))
        self.results["engine"] = {"text": text, "figures": figures}

    # -- item 2: round trips, engine against memcached directly ----------------------------
    def roundtrips_engine(self):
        log("== memcached operations per login / RCPT, engine direct (item 2)")
        n = 500 if self.quick else 2000
        out = []
        mcs = [sandbox.Memcached().start(), sandbox.Memcached().start()]
        try:
            for count in (1, 2):
                servers = ",".join(m.address for m in mcs[:count])
                out += run_json_lines([self.bin["store-bench"], "roundtrips", "--servers", servers,
                                       "--stats", servers, "--geo", self.country_db, self.asn_db,
                                       "-n", str(n)], timeout=300)
        finally:
            for m in mcs:
                m.stop()
        for r in out:
            p = r["per_op"]
            print(f"  {r['servers']} server(s)  {r['scenario']:<62} get {p['cmd_get']:.2f}  "
                  f"set/add/cas {p['cmd_set']:.2f}  delete {p['delete_hits'] + p['delete_misses']:.2f}",
                  flush=True)
        self.results["roundtrips_engine"] = out

    # -- item 5: memory ------------------------------------------------------------------------
    def memory(self):
        log("== memory per account (item 5)")
        shapes = [("typical", 20000 if self.quick else 100000),
                  ("full", 2000 if self.quick else 5000),
                  ("full6", 2000 if self.quick else 5000)]
        out = []
        for shape, accounts in shapes:
            mc = sandbox.Memcached(memory_mb=1024).start()
            try:
                out += run_json_lines([self.bin["store-bench"], "memory", "--servers", mc.address,
                                       "--stats", mc.address, "--geo", self.country_db, self.asn_db,
                                       "--accounts", str(accounts), "--shape", shape], timeout=600)
            finally:
                mc.stop()
        for r in out:
            print(f"  {r['shape']:<8} {r['accounts']} accounts: {r['bytes'] / r['accounts']:.1f} bytes/account "
                  f"(stats bytes), {r['slab_bytes'] / r['accounts']:.1f} with slab rounding, "
                  f"{r['items'] / r['accounts']:.2f} items/account", flush=True)
        self.results["memory"] = out

    # -- items 2 (through Dovecot) and 3: logins, the yardstick, system calls, the profile ---------
    def dovecot_auth(self):
        log("== Dovecot end to end: logins through the auth-client protocol (item 3)")
        guard_settings = {"account_guard_geoip_db": self.country_db, "account_guard_asn_db": self.asn_db}
        lua_path = os.path.join(self.tmp, "null-passdb.lua")
        with open(lua_path, "w") as f:
            f.write(LUA_SCRIPT)
        os.chmod(lua_path, 0o644)

        configs = [("dovecot", "passwd-file only (Dovecot alone)", dict(guard=False)),
                   ("static", "+ a passdb that does nothing, built into Dovecot (static, answers at once)",
                    dict(guard=False, extra_conf=STATIC_PASSDB))]
        if os.path.exists(LUA_MODULE):
            configs += [
                ("lua-async", "+ a passdb that does nothing, in the auth process (lua, blocking=no)",
                 dict(guard=False, extra_conf=lua_passdb(lua_path, False))),
                ("lua-worker", "+ a passdb that does nothing, in auth-worker (lua, blocking=yes)",
                 dict(guard=False, extra_conf=lua_passdb(lua_path, True))),
            ]
        else:
            self.results["notes"].append(
                "The Lua passdb (Debian package dovecot-auth-lua) is not installed: the trivial "
                "passdb rows (the yardstick: what any passdb costs Dovecot in the auth process, and what "
                "the auth-worker hop costs) are missing.")
        configs.append(("guard", "+ account_guard (in the auth process, non-blocking, pipelined to memcached "
                                 "on loopback)", dict(guard=True, settings=guard_settings)))

        mc = sandbox.Memcached(memory_mb=256).start()
        rt_mc = sandbox.Memcached(memory_mb=64).start()
        dovecots = {}
        try:
            for name, _, kw in configs:
                kw = dict(kw)
                settings = kw.pop("settings", {})
                d = BenchDovecot(memcached=mc, users=users_dict(), settings=settings, **kw)
                d.start()
                dovecots[name] = d
            # The same guard configuration on a memcached of its own, for counting its operations.
            rt = BenchDovecot(memcached=rt_mc, users=users_dict(), guard=True, settings=guard_settings)
            rt.start()
            dovecots["guard-rt"] = rt

            self._auth_throughput(configs, dovecots, mc)
            self._auth_latency(configs, dovecots, mc)
            self._auth_roundtrips(dovecots["guard-rt"], rt_mc)
            if not self.args.no_perf:
                self._auth_syscalls(dovecots, mc)
                self._auth_profile(dovecots["guard"], mc)
        finally:
            for d in dovecots.values():
                d.cleanup()
            mc.stop()
            rt_mc.stop()
        self.results["auth_configs"] = [(n, label) for n, label, _ in configs]

    def _auth_throughput(self, configs, dovecots, mc):
        rounds = 1 if self.quick else 3
        seconds = 2 if self.quick else 4
        runs = {}
        plan = [(name, "known") for name, _, _ in configs] + [("guard", "new")]
        # Interleaved rounds: whatever else runs on the machine meanwhile spreads over all
        # configurations instead of falsifying one of them.
        for r in range(rounds):
            for name, rip in plan:
                mc.flush()
                self.gate.wait()
                meter = CpuMeter([dovecots[name].master_pid], {mc.proc.pid: "memcached"})
                # Warm-up: one pass over all accounts (each guard account then has its record);
                # rip=new stays under the 10/1h network limit: at most 8 passes in all.
                res = auth_load(self.bin["auth-load"], dovecots[name], meter=meter, conns=16, window=8,
                                users=USERS, rip=rip, warmup=USERS, seconds=seconds, max=USERS * 7)
                runs.setdefault(f"{name}/{rip}", []).append(res)
                log(f"  round {r + 1} {name:<10} rip={rip:<5} {res['rate']:>9.0f} logins/s  "
                    f"p50 {res['p50_ms']:.2f} ms  p99 {res['p99_ms']:.2f} ms  fail {res['fail']}  "
                    f"client cpu {res['client_cpu']:.2f}  others {meter.result['others']:.2f} s")
        self.results["auth_throughput"] = runs

    def _auth_latency(self, configs, dovecots, mc):
        rounds = 1 if self.quick else 3
        runs = {}
        for r in range(rounds):
            for name, rip in [(name, "known") for name, _, _ in configs] + [("guard", "new")]:
                mc.flush()
                self.gate.wait()
                res = auth_load(self.bin["auth-load"], dovecots[name], conns=1, window=1, users=2000,
                                rip=rip, warmup=2000, seconds=1, max=2000 * 7)
                runs.setdefault(f"{name}/{rip}", []).append(res)
                log(f"  round {r + 1} unloaded {name:<10} rip={rip:<5} p50 {res['p50_ms']:.3f} ms  "
                    f"p99 {res['p99_ms']:.3f} ms")
        # The median of each figure over the rounds.
        self.results["auth_latency"] = {
            key: {k: median([x[k] for x in rr]) for k in ("p50_ms", "p99_ms", "rate")} | {"rounds": len(rr)}
            for key, rr in runs.items()}

    def _auth_roundtrips(self, dovecot, mc):
        log("== memcached operations per login through Dovecot (item 2)")
        n = 2000
        out = []
        mc.flush()

        def measure(scenario, expect, **opts):
            before = mc_counters(mc)
            res = auth_load(self.bin["auth-load"], dovecot, conns=4, window=4, users=n, warmup=0,
                            seconds=60, max=n, **opts)
            after = mc_counters(mc)
            out.append({"scenario": scenario, "expect": expect, "n": res["completed"], "ok": res["ok"],
                        "per_op": mc_per_op(before, after, res["completed"])})

        measure("login: first login of an account", "gets (miss) + add", rip="known")
        measure("login: known network, seen within the refresh interval", "gets", rip="known")
        measure("login: new network", "gets + cas", rip="new")
        for r in out:
            p = r["per_op"]
            print(f"  dovecot  {r['scenario']:<62} get {p['cmd_get']:.2f}  set/add/cas {p['cmd_set']:.2f}  "
                  f"connections {p['total_connections']:.4f}", flush=True)
        self.results["roundtrips_dovecot_login"] = out

    def _auth_syscalls(self, dovecots, mc):
        """System calls per login (perf stat on syscall tracepoints, low overhead, no
        sampling) of the auth process and of memcached, over exactly the measured window of a
        saturated run: whether the guard's memcached requests are batched under load (one
        send and one recv per loop turn for many logins) or cost a pair of system calls each."""
        log("== system calls per login (perf stat -e syscalls:...)")
        seconds = 2 if self.quick else 4
        out = {}
        for name, rip in (("dovecot", "known"), ("guard", "known"), ("guard", "new")):
            d = dovecots.get(name)
            if d is None:
                continue
            mc.flush()
            self.gate.wait()
            files = {}

            def watch(d=d, files=files):
                procs = []
                auth = auth_pid(d)
                if auth is None:
                    return procs
                fds = fds_to_port(auth, mc.port)
                files["auth"] = os.path.join(self.tmp, f"stat-{name}-{rip}-auth.txt")
                files["memcached_fds"] = len(fds)
                procs.append(subprocess.Popen(perf_stat_cmd(files["auth"], auth, fds), stdout=subprocess.DEVNULL,
                                              stderr=subprocess.DEVNULL))
                if fds:
                    files["memcached"] = os.path.join(self.tmp, f"stat-{name}-{rip}-memcached.txt")
                    procs.append(subprocess.Popen(perf_stat_cmd(files["memcached"], mc.proc.pid, []),
                                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
                return procs

            res = auth_load(self.bin["auth-load"], dovecots[name], watch=watch, conns=16, window=8, users=USERS,
                            rip=rip, warmup=USERS, seconds=seconds, max=USERS * 7)
            n = res["completed"] or 1
            entry = {"run": res, "memcached_connections": files.get("memcached_fds", 0)}
            for who in ("auth", "memcached"):
                if who in files:
                    entry[who] = {k: v / n for k, v in read_perf_stat(files[who]).items()}
            out[f"{name}/{rip}"] = entry
            a = entry.get("auth", {})
            log(f"  {name:<8} rip={rip:<5} {res['rate']:>9.0f} logins/s  per login: syscalls {a.get('all', 0):.2f}, "
                f"epoll_wait {a.get('epoll_wait', 0):.3f}, memcached send {a.get('mc_send', 0):.3f} "
                f"recv {a.get('mc_recv', 0):.3f}")
        self.results["auth_syscalls"] = out

    def _auth_profile(self, dovecot, mc):
        log("== profile of the guard configuration (perf record -a --call-graph dwarf)")
        data = os.path.join(self.tmp, "perf-auth.data")
        mc.flush()
        self.gate.wait()
        meter = CpuMeter([dovecot.master_pid], {mc.proc.pid: "memcached"})
        # 32 KB of stack per sample (default 8 KB): Dovecot's ioloop stacks are cut short otherwise.
        perf = ["perf", "record", "-a", "--call-graph", "dwarf,32768", "-F", "499", "-o", data, "--", "sleep", "3"]
        res = auth_load(self.bin["auth-load"], dovecot, meter=meter, perf=perf, conns=16, window=8,
                        users=USERS, rip="known", warmup=USERS, seconds=4, max=USERS * 7)
        roles = meter.pids()
        for pid, role in list(roles.items()):    # memcached's threads are sampled by thread id
            if role == "memcached":
                for tid in os.listdir(f"/proc/{pid}/task") if os.path.exists(f"/proc/{pid}/task") else []:
                    roles[int(tid)] = "memcached"
        self.results["profile_auth"] = {"run": res, "analysis": analyse_perf(data, roles)}

    # -- items 2 (RCPT through Dovecot) and 4 ----------------------------------------------------
    def submission(self):
        log("== submission: recipients per second with and without the plugin (item 4)")
        high = {"account_guard_recipient_limit": "10000000/1h 100000000/24h"}
        sub_conf = "protocol submission {\n  mail_plugins = $mail_plugins account_guard\n}\n"
        mc = sandbox.Memcached(memory_mb=256).start()
        dovecots = {}
        try:
            dovecots["with"] = BenchDovecot(memcached=mc, users=users_dict(), guard=True, settings=high,
                                            mail_plugin_dir=self.plugin_dir, extra_conf=sub_conf).start()
            dovecots["without"] = BenchDovecot(memcached=mc, users=users_dict(), guard=True, settings=high,
                                               mail_plugin_dir=self.plugin_dir).start()
            rounds = 1 if self.quick else 3
            seconds = 2 if self.quick else 4
            runs = {}
            first_user = 0
            for r in range(rounds):
                for name in ("without", "with"):
                    d = dovecots[name]
                    self.gate.wait()
                    meter = CpuMeter([d.master_pid], {mc.proc.pid: "memcached", d.relay_proc.pid: "smtp-sink"})
                    res, _ = smtp_load(self.bin["smtp-load"], d.submission_port, meter=meter, sessions=8,
                                       rcpts=50, seconds=seconds, first_user=first_user)
                    first_user += 8
                    runs.setdefault(name, []).append(res)
                    log(f"  round {r + 1} {name:<8} {res['rate']:>9.0f} recipients/s  refused {res['rcpt_refused']}"
                        f"  other {res['rcpt_other']}  txn p50 {res['txn_p50_ms']:.1f} ms  "
                        f"others {meter.result['others']:.2f} s")
            self.results["submission"] = runs

            # memcached operations per RCPT, accepted and refused (item 2).
            log("== memcached operations per RCPT through Dovecot (item 2)")
            out = []
            d = dovecots["with"]
            mc.flush()
            between = lambda: mc_counters(mc)  # noqa: E731
            res, before = smtp_load(self.bin["smtp-load"], d.submission_port, between=between, sessions=4,
                                    rcpts=50, transactions=5, first_user=1000)
            n = res["rcpt_ok"] + res["rcpt_refused"] + res["rcpt_other"]
            # 50 RCPTs pipelined per transaction: counted in batches (Dovecot reads at most five
            # commands ahead), one gets + cas per batch.
            out.append({"scenario": "rcpt: accepted (the first of each account included)",
                        "expect": "gets + cas per batch of pipelined RCPTs",
                        "n": n, "ok": res["rcpt_ok"], "per_op": mc_per_op(before, mc_counters(mc), n)})
            # One recipient per transaction: each RCPT is the first of its transaction, where the
            # plugin also asks whether the account was locked since the session logged in.
            res, before = smtp_load(self.bin["smtp-load"], d.submission_port, between=between, sessions=4,
                                    rcpts=1, transactions=50, first_user=1500)
            n = res["rcpt_ok"] + res["rcpt_refused"] + res["rcpt_other"]
            out.append({"scenario": "rcpt: one-recipient messages (each RCPT the first of its transaction)",
                        "expect": "gets + cas (the lock check comes with the same read)", "n": n, "ok": res["rcpt_ok"],
                        "per_op": mc_per_op(before, mc_counters(mc), n)})
            # A low limit; reload, fill it, then count a transaction of refused recipients.
            d.settings["account_guard_recipient_limit"] = "10/1h"
            d.reload()
            smtp_load(self.bin["smtp-load"], d.submission_port, sessions=4, rcpts=10, transactions=1,
                      first_user=2000)
            res, before = smtp_load(self.bin["smtp-load"], d.submission_port, between=between, sessions=4,
                                    rcpts=50, transactions=2, first_user=2000)
            n = res["rcpt_ok"] + res["rcpt_refused"] + res["rcpt_other"]
            out.append({"scenario": "rcpt: refused (over the limit)", "expect": "gets", "n": n,
                        "ok": res["rcpt_ok"], "per_op": mc_per_op(before, mc_counters(mc), n)})
            for r in out:
                p = r["per_op"]
                print(f"  dovecot  {r['scenario']:<62} get {p['cmd_get']:.2f}  set/add/cas {p['cmd_set']:.2f}  "
                      f"connections {p['total_connections']:.4f}", flush=True)
            self.results["roundtrips_dovecot_rcpt"] = out
        finally:
            for d in dovecots.values():
                d.cleanup()
            mc.stop()

    # -- the engine's own profile (item 1 when missed) -------------------------------------------
    # -- account-guard-replay: events/s on one core, peak memory ---------------------------
    def replay(self):
        log("== account-guard-replay (INTERFACE §9): events/s on one core, peak memory")
        binary = os.path.join(self.build, "replay", "account-guard-replay")
        gen = self.bin["replay-input"]
        for path in (binary, gen):
            if not os.access(path, os.X_OK):
                self.results["notes"].append(f"account-guard-replay benchmark skipped: {path} not built")
                return
        work = os.path.join(self.tmp, "replay")
        os.makedirs(work, exist_ok=True)
        # A configuration of its own (the default is /etc/dovecot/dovecot.conf, whatever it holds):
        # an empty plugin block, read through doveconf, the default limits, GeoIP on as in item 1,
        # and every service's logins recorded (the default records smtp and submission only; the
        # other logins would cost a lock check alone): the full decision on every event.
        conf = os.path.join(work, "replay.conf")
        with open(conf, "w") as f:
            f.write("plugin {\n}\n")
        base_cmd = [binary, "-c", conf, "-o", f"account_guard_geoip_db={self.country_db}",
                    "-o", f"account_guard_asn_db={self.asn_db}", "--json"]
        record_all = ["-o", "account_guard_record_services=*"]
        pin = ["taskset", "-c", "0"] if shutil.which("taskset") else []
        events = 200_000 if self.quick else 5_000_000
        repeats = 1 if self.quick else 3
        # (name, format, accounts, days): the speed inputs are 5 events per account over a month,
        # 1M accounts; the memory ones the same number of events over fewer accounts, more each,
        # and the last as many events a day per account as jsonl-100 for twice as long (does the
        # state grow with the log's length?).
        inputs = [("jsonl", "jsonl", events // 5, 30), ("dovecot", "dovecot", events // 5, 30),
                  ("jsonl-25", "jsonl", events // 25, 30), ("jsonl-100", "jsonl", events // 100, 30),
                  ("jsonl-200-60d", "jsonl", events // 200, 60), ("empty", "jsonl", 1, 30)]
        files = {}
        gen_info = {}
        for name, fmt, accounts, days in inputs:
            path = os.path.join(work, f"{name}.{'jsonl' if fmt == 'jsonl' else 'log'}")
            n = 1 if name == "empty" else events
            res = subprocess.run([gen, "--format", fmt, "--events", str(n), "--accounts", str(accounts),
                                  "--days", str(days), "--seed", "1", "-o", path], capture_output=True, text=True, timeout=600)
            if res.returncode != 0:
                raise RuntimeError(f"replay-input failed: {res.stderr.strip()}")
            info = json.loads(res.stderr.strip().splitlines()[-1])
            # Syslog stamps have no year: the replay takes it from the file's modification time,
            # so the file is dated at the end of its month, wherever and whenever this runs.
            os.utime(path, (info["last"] + 3600, info["last"] + 3600))
            files[name] = path
            info["days"] = days
            gen_info[name] = info
        gz = files["jsonl"] + ".gz"
        with open(gz, "wb") as f:
            subprocess.run(["gzip", "-1", "-c", files["jsonl"]], stdout=f, check=True, timeout=600)
        files["jsonl.gz"] = gz
        gen_info["jsonl.gz"] = dict(gen_info["jsonl"], bytes=os.path.getsize(gz))

        # (file, how many times, what it measures)
        # "default": the same input with the default record_services (smtp submission): the other
        # logins are only checked against a lock, nothing recorded.
        plan = [("jsonl", repeats), ("dovecot", repeats), ("jsonl.gz", 1), ("jsonl-25", 1), ("jsonl-100", 1),
                ("jsonl-200-60d", 1), ("empty", 1), ("jsonl/default", 1), ("dovecot/default", 1)]
        runs = {}
        for rnd in range(max(r for _, r in plan)):
            for name, times in plan:      # interleaved: a busy moment does not land on one input only
                if rnd >= times:
                    continue
                self.gate.wait()
                fmt = "jsonl" if name.startswith("jsonl") or name == "empty" else "dovecot"
                file, _, variant = name.partition("/")
                cmd = base_cmd + ([] if variant else record_all)
                r = measure_child(pin + cmd + ["--format", fmt, files[file]], timeout=900)
                r["events"] = gen_info[file]["events"]
                parsed = sum(r["summary"].get("events", {}).values())
                if parsed != r["events"]:
                    self.results["notes"].append(f"account-guard-replay read {parsed} events of {r['events']} "
                                                 f"in {name}")
                r["rate"] = r["events"] / r["seconds"] if r["seconds"] else 0.0
                runs.setdefault(name, []).append(r)
                print(f"  {name:<10} {r['events']:>9} events in {r['seconds']:.2f} s: {r['rate']:,.0f}/s, "
                      f"CPU {r['cpu_s']:.2f} s, peak RSS {r['maxrss_kb'] / 1024:.0f} MiB, "
                      f"{r['lines'] - 1} decisions, unparsable {r['unparsable']}", flush=True)
        for path in files.values():
            os.unlink(path)
        self.results["replay"] = {"inputs": gen_info, "runs": runs, "pinned": bool(pin),
                                  "options": base_cmd[3:] + record_all}

    def engine_profile(self):
        log("== profile of the engine (perf record, login from a known network)")
        data = os.path.join(self.tmp, "perf-engine.data")
        self.gate.wait()
        res = subprocess.run(["perf", "record", "--call-graph", "dwarf", "-F", "999", "-o", data, "--",
                              self.bin["engine-bench"], self.country_db, self.asn_db, "--only", "known"],
                             capture_output=True, text=True, timeout=300)
        if res.returncode != 0:
            self.results["notes"].append("perf record of engine-bench failed: " + res.stderr.strip()[-300:])
            return
        self.results["profile_engine"] = profile_of(perf_samples(data), ENGINE_MARKERS)
        self.results["profile_engine"]["run"] = res.stdout.strip()


# ---------------------------------------------------------------------------------------------
# perf analysis: samples with DWARF call chains, read back with `perf script`, so that each
# sample counts once for every function on its stack (inclusive) and once for the function
# it was in (self)
# ---------------------------------------------------------------------------------------------

ALLOCATOR = ("malloc", "_int_malloc", "free", "_int_free", "cfree", "__GI___libc_malloc", "__GI___libc_free",
             "tcache_get", "tcache_put", "malloc_consolidate", "__libc_calloc", "operator new",
             "operator delete", "_int_free_merge_chunk", "unlink_chunk")

# (label, substring of a symbol): what each inclusive share means.
ENGINE_MARKERS = [
    ("AccountService::login (everything per login)", "AccountService::login"),
    ("LoginOperation (the login state machine, here over the synchronous store)", "LoginOperation::"),
    ("lock_replica_key (the lock replica's key)", "lock_replica_key"),
    ("decide_login (the decision)", "account_guard::decide_login"),
    ("  make_event (the per-login event and its message)", "make_event"),
    ("  printable (the user name made printable, for events)", "account_guard::printable"),
    ("  find_crossing (counting the entries in each window)", "find_crossing"),
    ("Network::to_string (networks as text, for event messages)", "Network::to_string"),
    ("account_key (SHA-256 of the user name)", "account_guard::account_key"),
    ("GeoDatabases::lookup (the country; the ASN only when the settings need it)", "GeoDatabases::lookup"),
    ("  the ASN lookup", "MmdbDatabase::lookup_uint32"),
    ("decode (the stored record)", "account_guard::decode"),
    ("MemoryStore::gets (the benchmark's in-memory store)", "MemoryStore::gets"),
]
# The guard in the auth process (non-blocking path): (label, substrings of a symbol, any of
# them). Shares are inclusive but count only the guard's samples (see guard_samples): the rest
# of the login, run by Dovecot from our done callback, is Dovecot's.
AUTH_MARKERS = [
    ("ag_login_start (a login's start: copies, settings, GeoIP, the first request)", ("ag_login_start",)),
    ("PendingLogin (the login in flight; its end: events, verdict to Dovecot)", ("PendingLogin",)),
    ("LoginOperation (the state machine: start, on_reply, decide)", ("LoginOperation::",)),
    ("  LoginOperation::on_reply (an answer: decode, decide, write back or finish)", ("LoginOperation::on_reply",)),
    ("  LoginOperation::decide", ("LoginOperation::decide",)),
    ("decide_login (the decision)", ("account_guard::decide_login",)),
    ("decode / encode (the stored record)", ("account_guard::decode", "account_guard::encode")),
    ("account_key (SHA-256 of the user name)", ("account_guard::account_key",)),
    ("GeoDatabases (lookup and file check)", ("GeoDatabases::",)),
    ("AsyncMemcached::on_io (a socket ready: send, recv, parse, answers)", ("AsyncMemcached::on_io",)),
    ("  AsyncMemcached::flush (send)", ("AsyncMemcached::flush",)),
    ("  AsyncMemcached::read_from (recv, then parse)", ("AsyncMemcached::read_from",)),
    ("  AsyncMemcached::parse (answers, and the callbacks they run)", ("AsyncMemcached::parse",)),
    ("AsyncMemcached requests (gets / compare_and_swap / request: encode, queue)",
     ("AsyncMemcached::request", "AsyncMemcached::gets", "AsyncMemcached::compare_and_swap",
      "AsyncMemcached::set", "AsyncMemcached::remove")),
    ("AsyncMemcached::want / update_timer (io and timer changes)", ("AsyncMemcached::want", "AsyncMemcached::update_timer")),
    ("guard_loop_* (the glue's io and timeout callbacks: io_add/io_remove, timeouts)", ("guard_loop_",)),
    ("guard_event_emit (engine events to Dovecot events)", ("guard_event_emit",)),
]
GUARD_DSO = "libauthdb_account_guard"
# Symbols of our code when perf shows a frame as "(inlined)" (no library).
GUARD_SYMBOLS = ("account_guard::", "ag_", "guard_", "account_guard_")
# Our done callback: what runs inside it from Dovecot (the passdb callback, the reply to the
# client) is Dovecot's work, although our frames are further out on the stack.
GUARD_DONE = "account_guard_login_done"


def perf_samples(data, pids=None):
    """[(pid, [(sym, dso), ...innermost first])] from `perf script`."""
    cmd = ["perf", "script", "-i", data, "-F", "comm,pid,tid,ip,sym,dso"]
    if pids:
        cmd += ["--pid", ",".join(str(p) for p in pids)]
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    samples, frames, pid = [], [], None
    for line in res.stdout.splitlines():
        if not line.strip():
            continue
        if line[0] in " \t":
            parts = line.strip().removesuffix(" (deleted))").removesuffix(" (deleted)").split(" ", 1)
            if len(parts) == 2:
                if not parts[1].endswith(")") and " (/" in parts[1]:
                    parts[1] += ")"  # "(/path/lib.so (deleted))": a module rebuilt meanwhile
                sym, _, dso = parts[1].rpartition(" (")
                frames.append((sym, dso.rstrip(")")))
            continue
        if pid is not None:
            samples.append((pid, frames))
        frames = []
        m = re.search(r"(\d+)/\d+\s*$", line)
        pid = int(m.group(1)) if m else -1
    if pid is not None:
        samples.append((pid, frames))
    return samples


def dso_name(dso):
    return os.path.basename(dso) if dso.startswith("/") else dso


def profile_of(samples, markers, top=12):
    n = len(samples)
    if n == 0:
        return {"samples": 0}
    inclusive = {label: 0 for label, _ in markers}
    in_kernel = {label: 0 for label, _ in markers}   # of those, samples taken in the kernel
    self_syms, self_dso = {}, {}
    kernel = allocator = 0
    for _, frames in samples:
        if not frames:
            continue
        syms = [f[0] for f in frames]
        for label, needle in markers:
            needles = (needle,) if isinstance(needle, str) else needle
            if any(n in sym for sym in syms for n in needles):
                inclusive[label] += 1
                in_kernel[label] += frames[0][1] == "[kernel.kallsyms]"
        sym, dso = frames[0]
        # perf shows inlined functions as frames of their own, "(inlined)": the code is in
        # the library of the first real frame.
        dso = next((d for _, d in frames if d != "inlined"), dso)
        name = dso_name(dso)
        key = f"{sym} ({name})"
        self_syms[key] = self_syms.get(key, 0) + 1
        self_dso[name] = self_dso.get(name, 0) + 1
        kernel += dso == "[kernel.kallsyms]"
        allocator += sym.split("@")[0] in ALLOCATOR
    pct = lambda c: round(100.0 * c / n, 1)  # noqa: E731
    return {
        "samples": n,
        "inclusive": [(label, pct(c)) for label, c in inclusive.items()],
        "inclusive_kernel": {label: round(100.0 * in_kernel[label] / c, 1) if c else 0.0
                             for label, c in inclusive.items()},
        "self_top": [(k, pct(c)) for k, c in sorted(self_syms.items(), key=lambda kv: -kv[1])[:top]],
        "self_dso": [(k, pct(c)) for k, c in sorted(self_dso.items(), key=lambda kv: -kv[1])[:8]],
        "kernel": pct(kernel),
        "allocator": pct(allocator),
    }


def is_guard_frame(frame):
    sym, dso = frame
    if GUARD_DSO in dso:
        return True
    return dso == "inlined" and sym.startswith(GUARD_SYMBOLS)


def guard_sample(frames):
    """Whether a sample of the auth process is the guard's work: some frame of ours on the stack,
    not counting what Dovecot does inside our done callback (frames inner to it that are not
    ours)."""
    done = next((k for k, (sym, _) in enumerate(frames) if sym.startswith(GUARD_DONE)), None)
    inner = frames if done is None else frames[:done]
    return any(is_guard_frame(f) for f in inner)


def analyse_perf(data, roles):
    """Samples by role (pid -> role, from the run); the auth process's split into the guard and
    Dovecot, the guard's parts; memcached's profile."""
    samples = perf_samples(data)
    by_role = {}
    for pid, _ in samples:
        role = roles.get(pid, "other processes")
        by_role[role] = by_role.get(role, 0) + 1
    total = len(samples) or 1
    auth = [(pid, f) for pid, f in samples if roles.get(pid) == "auth" and f]
    guard = [(pid, f) for pid, f in auth if guard_sample(f)]
    dovecot = [(pid, f) for pid, f in auth if not guard_sample(f)]
    memcached = [(pid, f) for pid, f in samples if roles.get(pid) == "memcached"]
    whole = profile_of(auth, [], top=12)
    n = len(auth) or 1
    # The guard's parts as shares of the whole auth process.
    parts = profile_of(guard, [(label, needles) for label, needles in AUTH_MARKERS], top=12)
    if parts.get("samples"):
        scale = len(guard) / n
        parts["inclusive"] = [(label, round(p * scale, 1)) for label, p in parts["inclusive"]]
        parts["allocator_of_auth"] = round(parts["allocator"] * scale, 1)
        parts["kernel_of_auth"] = round(parts["kernel"] * scale, 1)
    # Stacks that perf unwound to the process's root (main, or the libc frames that call it):
    # a stack cut short may hide a guard frame further out, and count as Dovecot's.
    roots = ("main", "_start", "__libc_start_main", "__libc_start_call_main")
    unwound = sum(1 for _, f in auth if f[-1][0].split("@")[0].startswith(roots))
    whole["unwound"] = round(100.0 * unwound / n, 1)
    return {
        "by_role": sorted(((r, round(100.0 * c / total, 1)) for r, c in by_role.items()), key=lambda kv: -kv[1]),
        "auth": whole,
        "auth_guard_share": round(100.0 * len(guard) / n, 1),
        "auth_guard": parts,
        "auth_dovecot": profile_of(dovecot, [], top=10),
        "memcached": profile_of(memcached, [], top=8),
    }


# ---------------------------------------------------------------------------------------------
# RESULTS.md
# ---------------------------------------------------------------------------------------------

def write_results(results, path):
    from report import render  # tests/bench/report.py
    text = render(results)
    with open(path + ".new", "w") as f:
        f.write(text)
    os.replace(path + ".new", path)
    return text


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--build", required=True, help="meson build directory with the bench programs")
    p.add_argument("--results", default=None,
                   help="where to write the report (default tests/bench/RESULTS.md; with --quick "
                        "BUILD/bench-results-quick.md, so that a smoke test never replaces the real figures)")
    p.add_argument("--json", default=None, help="also write the raw figures here")
    p.add_argument("--quick", action="store_true", help="shorter runs (a smoke test, not for RESULTS.md)")
    p.add_argument("--no-perf", action="store_true", help="skip the perf profiles")
    p.add_argument("--only", default=None, help="comma-separated sections (debugging)")
    args = p.parse_args()
    if os.geteuid() != 0:
        sys.exit("bench.py: run as root (Dovecot sandboxes and the module directories need it)")
    missing = sandbox.modules_installed()
    if missing:
        sys.exit(f"bench.py: modules not linked: {missing} (tests/link-modules BUILD_DIR)")

    if args.results is None:
        args.results = (os.path.join(os.path.abspath(args.build), "bench-results-quick.md") if args.quick
                        else os.path.join(HERE, "RESULTS.md"))
    bench = Bench(args)
    sections = ["machine", "engine", "roundtrips_engine", "memory", "dovecot_auth", "submission", "replay"]
    if not args.no_perf:
        sections.append("engine_profile")
    if args.only:
        sections = ["machine"] + args.only.split(",")
    start = time.monotonic()
    try:
        for s in sections:
            getattr(bench, s)()
    finally:
        bench.cleanup()
    bench.results["duration_s"] = round(time.monotonic() - start)
    bench.results["quiet_gate"] = {"waited_s": round(bench.gate.waited, 1), "busy_starts": bench.gate.busy_starts,
                                   "threshold": bench.gate.threshold}
    bench.results["modules_loaded"] = sorted(BenchDovecot.modules_loaded)
    bench.results["build"] = os.path.relpath(bench.build, ROOT) if bench.build.startswith(ROOT) else bench.build
    bench.results["quick"] = args.quick
    if args.json:
        with open(args.json, "w") as f:
            json.dump(bench.results, f, indent=1)
    if args.only:
        log("(--only: RESULTS.md not rewritten)")
        return
    sys.path.insert(0, HERE)
    text = write_results(bench.results, args.results)
    print()
    print(text)


if __name__ == "__main__":
    main()
