// store-bench: the engine against a real memcached, through its C API (account-guard.h), for
// issue 8 items 2 (memcached operations per login and per RCPT) and 5 (bytes stored per
// account). RCPTs go through ag_rcpt, as the submission plugin calls it; logins through
// ag_login, the synchronous twin of the auth process's ag_login_start (the same LoginOperation,
// over libmemcached instead of the pipelined client: the same requests in the same order; the
// logins through a real Dovecot are counted by bench.py). Everything is counted by memcached itself (`stats`,
// `stats slabs`) before and after each run; this program never trusts its own bookkeeping.
//
//   store-bench roundtrips --servers H:P[,H:P] --stats H:P[,H:P] [--geo COUNTRY.mmdb ASN.mmdb] [-n N]
//   store-bench memory --servers H:P --stats H:P --accounts N --shape typical|full|full6
//                      [--geo COUNTRY.mmdb ASN.mmdb]
//
// --servers is what the engine uses (account_guard_memcached_servers), --stats where the
// counters are read: the same memcached(s), listed the same way. Output: one JSON object per
// line, for tests/bench/bench.py. Started by tests/bench/run; it flushes what it measures, so
// give it a memcached of its own.

#include "account-guard.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <algorithm>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

using Stats = std::map<std::string, long long>;

// A minimal text-protocol client for `stats`, `stats slabs` and `flush_all`.
class StatsClient {
public:
	explicit StatsClient(const std::string &address)
	{
		auto colon = address.rfind(':');
		if (colon == std::string::npos)
			throw std::runtime_error("bad address " + address);
		host_ = address.substr(0, colon);
		port_ = std::atoi(address.c_str() + colon + 1);
	}

	// Whether a reply is whole: values are walked by their lengths, so binary data that
	// happens to end like a status line cannot end the read early.
	static bool complete(const std::string &reply)
	{
		size_t pos = 0;
		while (reply.compare(pos, 6, "VALUE ") == 0) {
			size_t eol = reply.find("\r\n", pos);
			if (eol == std::string::npos)
				return false;
			size_t last_space = reply.rfind(' ', eol);
			long long bytes = std::atoll(reply.c_str() + last_space + 1);
			pos = eol + 2 + static_cast<size_t>(bytes) + 2;
			if (pos > reply.size())
				return false;
		}
		std::string rest = reply.substr(pos);
		auto ends = [&](const char *t) {
			size_t n = std::strlen(t);
			return rest.size() >= n && rest.compare(rest.size() - n, n, t) == 0;
		};
		return ends("END\r\n") || rest == "OK\r\n" || ends("ERROR\r\n");
	}

	std::string command(const std::string &line)
	{
		int fd = socket(AF_INET, SOCK_STREAM, 0);
		if (fd < 0)
			throw std::runtime_error("socket failed");
		sockaddr_in sa{};
		sa.sin_family = AF_INET;
		sa.sin_port = htons(static_cast<uint16_t>(port_));
		inet_pton(AF_INET, host_.c_str(), &sa.sin_addr);
		if (connect(fd, reinterpret_cast<sockaddr *>(&sa), sizeof(sa)) < 0) {
			close(fd);
			throw std::runtime_error("cannot connect to memcached at " + host_ + ":" + std::to_string(port_));
		}
		std::string out = line + "\r\n";
		if (write(fd, out.data(), out.size()) != static_cast<ssize_t>(out.size())) {
			close(fd);
			throw std::runtime_error("write to memcached failed");
		}
		std::string reply;
		char buf[65536];
		for (;;) {
			ssize_t n = read(fd, buf, sizeof(buf));
			if (n <= 0)
				break;
			reply.append(buf, static_cast<size_t>(n));
			if (complete(reply))
				break;
		}
		close(fd);
		return reply;
	}

	// "STAT name value" lines; slab lines ("STAT 5:chunk_size 120") keep their "5:" prefix.
	Stats stats(const std::string &which = "")
	{
		Stats result;
		std::string reply = command(which.empty() ? "stats" : "stats " + which);
		size_t pos = 0;
		while (pos < reply.size()) {
			size_t end = reply.find("\r\n", pos);
			if (end == std::string::npos)
				break;
			std::string row = reply.substr(pos, end - pos);
			pos = end + 2;
			if (row.compare(0, 5, "STAT ") != 0)
				continue;
			size_t sp = row.find(' ', 5);
			if (sp == std::string::npos)
				continue;
			result[row.substr(5, sp - 5)] = std::atoll(row.c_str() + sp + 1);
		}
		return result;
	}

	// `lru_crawler metadump all`: (key, item size) of every live item.
	std::vector<std::pair<std::string, long long>> metadump()
	{
		std::vector<std::pair<std::string, long long>> items;
		std::string reply = command("lru_crawler metadump all");
		size_t pos = 0;
		while (pos < reply.size()) {
			// metadump ends its rows with a bare "\n".
			size_t end = reply.find('\n', pos);
			if (end == std::string::npos)
				break;
			std::string row = reply.substr(pos, end - pos);
			pos = end + 1;
			if (!row.empty() && row.back() == '\r')
				row.pop_back();
			if (row.compare(0, 4, "key=") != 0)
				continue;
			std::string key = url_decode(row.substr(4, row.find(' ') - 4));
			size_t size_at = row.find(" size=");
			items.emplace_back(key, size_at == std::string::npos ? 0 : std::atoll(row.c_str() + size_at + 6));
		}
		return items;
	}

	// The value lengths of `keys` (text protocol `get`), in order; -1 for a miss.
	std::vector<long long> value_sizes(const std::vector<std::string> &keys)
	{
		std::map<std::string, long long> found;
		std::string line = "get";
		for (const std::string &k : keys)
			line += " " + k;
		std::string reply = command(line);
		size_t pos = 0;
		while (pos < reply.size() && reply.compare(pos, 6, "VALUE ") == 0) {
			size_t eol = reply.find("\r\n", pos);
			if (eol == std::string::npos)
				break;
			std::vector<std::string> f;
			std::string header = reply.substr(pos, eol - pos);
			size_t p = 0;
			while (p < header.size()) {
				size_t sp = header.find(' ', p);
				if (sp == std::string::npos)
					sp = header.size();
				f.push_back(header.substr(p, sp - p));
				p = sp + 1;
			}
			if (f.size() < 4)
				break;
			long long bytes = std::atoll(f[3].c_str());
			found[f[1]] = bytes;
			pos = eol + 2 + static_cast<size_t>(bytes) + 2;
		}
		std::vector<long long> sizes;
		for (const std::string &k : keys)
			sizes.push_back(found.count(k) ? found[k] : -1);
		return sizes;
	}

private:
	static std::string url_decode(const std::string &s)
	{
		std::string out;
		for (size_t i = 0; i < s.size(); i++) {
			if (s[i] == '%' && i + 2 < s.size()) {
				out += static_cast<char>(std::strtol(s.substr(i + 1, 2).c_str(), nullptr, 16));
				i += 2;
			} else {
				out += s[i];
			}
		}
		return out;
	}

	std::string host_;
	int port_ = 0;
};

std::vector<std::string> split(const std::string &s, char sep)
{
	std::vector<std::string> out;
	size_t pos = 0;
	while (pos <= s.size()) {
		size_t end = s.find(sep, pos);
		if (end == std::string::npos)
			end = s.size();
		if (end > pos)
			out.push_back(s.substr(pos, end - pos));
		pos = end + 1;
	}
	return out;
}

// The sum over every memcached in --stats.
Stats total_stats(std::vector<StatsClient> &clients, const std::string &which = "")
{
	Stats sum;
	for (StatsClient &c : clients)
		for (const auto &kv : c.stats(which))
			sum[kv.first] += kv.second;
	return sum;
}

// The commands memcached counts, as deltas between two `stats`.
const char *const counted[] = {
	"cmd_get", "get_hits", "get_misses", "get_expired", "cmd_set", "cas_hits", "cas_misses",
	"cas_badval", "cmd_touch", "touch_hits", "touch_misses", "delete_hits", "delete_misses",
	"incr_hits", "incr_misses", "decr_hits", "decr_misses", "total_connections",
	"bytes_read", "bytes_written",
};

std::string json_deltas(const Stats &before, const Stats &after, long long n)
{
	std::string out = "{";
	char buf[160];
	bool first = true;
	for (const char *name : counted) {
		long long d = (after.count(name) ? after.at(name) : 0) - (before.count(name) ? before.at(name) : 0);
		std::snprintf(buf, sizeof(buf), "%s\"%s\":%.4f", first ? "" : ",", name,
			      static_cast<double>(d) / static_cast<double>(n));
		out += buf;
		first = false;
	}
	return out + "}";
}

struct Config {
	std::string servers;
	std::string country_db, asn_db;
	std::string recipient_limit = "";
	std::string ip_limit = "";
	std::string notify = "";
};

const char *config_getenv(const char *name, void *context)
{
	const Config *c = static_cast<const Config *>(context);
	std::string n(name);
	if (n == "account_guard_memcached_servers")
		return c->servers.c_str();
	if (n == "account_guard_geoip_db" && !c->country_db.empty())
		return c->country_db.c_str();
	if (n == "account_guard_asn_db" && !c->asn_db.empty())
		return c->asn_db.c_str();
	if (n == "account_guard_recipient_limit" && !c->recipient_limit.empty())
		return c->recipient_limit.c_str();
	if (n == "account_guard_ip_limit" && !c->ip_limit.empty())
		return c->ip_limit.c_str();
	if (n == "account_guard_notify" && !c->notify.empty())
		return c->notify.c_str();
	return nullptr;
}

struct Engine {
	ag_engine *engine = nullptr;
	explicit Engine(Config &config)
	{
		char error[512];
		// Logins as the auth process makes them (GeoIP on), recipients as submission does.
		if (ag_engine_new_flags(config_getenv, &config, AG_ENGINE_LOGINS, &engine, error,
					sizeof(error)) != AG_OK)
			throw std::runtime_error(std::string("ag_engine_new_flags: ") + error);
	}
	~Engine() { ag_engine_free(&engine); }
	Engine(const Engine &) = delete;
	Engine &operator=(const Engine &) = delete;
};

long long backend_errors = 0;

void count_errors(const ag_event *ev, void *)
{
	if (ev->name != nullptr && std::strcmp(ev->name, "account_guard_backend_failed") == 0) {
		if (backend_errors++ == 0)
			std::fprintf(stderr, "store-bench: %s\n", ev->message);
	}
}

void ignore_notification(const ag_notification *, void *) {}

std::string user_name(const char *scenario, long long i)
{
	return std::string(scenario) + "-" + std::to_string(i) + "@bench.example";
}

// Addresses in the ranges of the generated GeoIP databases (tests/data/make-test-mmdb.pl):
// 198.18.0.0/15 is US, 192.0.2.0/24 DE, 198.51.100.0/24 FR, 2001:db8::/32 JP.
std::string us_ip(long long network, long long host = 7)
{
	// 512 /24s in 198.18.0.0/15.
	return "198." + std::to_string(18 + ((network >> 8) & 1)) + "." + std::to_string(network & 255) + "." +
	       std::to_string(host);
}

std::string v6_ip(long long network)
{
	char buf[64];
	std::snprintf(buf, sizeof(buf), "2001:db8:%llx:%llx::7", (network >> 16) & 0xffff, network & 0xffff);
	return buf;
}

ag_verdict login(Engine &e, const std::string &user, const std::string &ip, time_t now)
{
	struct ag_login in{};
	in.user = user.c_str();
	in.service = "smtp";
	in.remote_ip = ip.c_str();
	in.password = "correct horse battery staple";
	in.password_len = std::strlen(in.password);
	in.now = now;
	in.on_notify = ignore_notification;
	ag_verdict verdict;
	char message[512];
	ag_login(e.engine, &in, &verdict, message, sizeof(message), count_errors, nullptr);
	return verdict;
}

ag_verdict rcpt(Engine &e, const std::string &user, time_t now, bool first_of_transaction = false)
{
	struct ag_rcpt in{};
	in.user = user.c_str();
	in.now = now;
	// What the submission plugin sets (on every RCPT; these rows keep the name of the case
	// that matters, the first RCPT of a transaction): also refuse if the account was locked
	// after the session logged in.
	in.check_lock = first_of_transaction ? 1 : 0;
	in.on_notify = ignore_notification;
	ag_verdict verdict;
	ag_rcpt(e.engine, &in, &verdict, count_errors, nullptr);
	return verdict;
}

struct Args {
	std::string mode;
	std::string servers, stats;
	std::string country_db, asn_db;
	long long n = 1000;
	long long accounts = 100000;
	std::string shape = "typical";
};

Args parse_args(int argc, char **argv)
{
	Args a;
	if (argc < 2)
		throw std::runtime_error("usage: store-bench roundtrips|memory --servers H:P --stats H:P ...");
	a.mode = argv[1];
	for (int i = 2; i < argc; i++) {
		std::string arg = argv[i];
		auto need = [&](int k) {
			if (i + k >= argc)
				throw std::runtime_error("missing value for " + arg);
		};
		if (arg == "--servers") {
			need(1);
			a.servers = argv[++i];
		} else if (arg == "--stats") {
			need(1);
			a.stats = argv[++i];
		} else if (arg == "--geo") {
			need(2);
			a.country_db = argv[++i];
			a.asn_db = argv[++i];
		} else if (arg == "-n") {
			need(1);
			a.n = std::atoll(argv[++i]);
		} else if (arg == "--accounts") {
			need(1);
			a.accounts = std::atoll(argv[++i]);
		} else if (arg == "--shape") {
			need(1);
			a.shape = argv[++i];
		} else {
			throw std::runtime_error("unknown argument " + arg);
		}
	}
	if (a.servers.empty() || a.stats.empty())
		throw std::runtime_error("--servers and --stats are required");
	return a;
}

double seconds_since(std::chrono::steady_clock::time_point start)
{
	return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// ---- item 2: memcached operations per login and per RCPT ----

int roundtrips(const Args &args)
{
	std::vector<StatsClient> mc;
	for (const std::string &s : split(args.stats, ','))
		mc.emplace_back(s);
	Config base;
	base.servers = args.servers;
	base.country_db = args.country_db;
	base.asn_db = args.asn_db;
	const long long n = args.n;
	const time_t t0 = std::time(nullptr);
	const int servers = static_cast<int>(mc.size());

	// Runs `body` for i in [0, n) between two `stats` and prints the deltas per operation.
	auto measure = [&](const char *scenario, const char *expect, auto &&body) {
		long long errors_before = backend_errors;
		Stats before = total_stats(mc);
		auto start = std::chrono::steady_clock::now();
		long long refused = 0;
		for (long long i = 0; i < n; i++)
			refused += body(i) != AG_VERDICT_ALLOW ? 1 : 0;
		double secs = seconds_since(start);
		Stats after = total_stats(mc);
		std::printf("{\"bench\":\"roundtrips\",\"servers\":%d,\"scenario\":\"%s\",\"expect\":\"%s\",\"n\":%lld,"
			    "\"refused\":%lld,\"backend_errors\":%lld,\"us_per_op\":%.2f,\"per_op\":%s}\n",
			    servers, scenario, expect, n, refused, backend_errors - errors_before, secs * 1e6 / n,
			    json_deltas(before, after, n).c_str());
		std::fflush(stdout);
	};

	// A clean slate: the scenarios below build each account's state step by step.
	for (StatsClient &c : mc)
		c.command("flush_all");
	Engine e(base);
	// Logins of accounts never seen before. With two or more servers the miss also asks the
	// lock replica (on another server) whether a lock was lost with the record's server.
	measure("login: first login of an account", "gets (miss) + add (+ replica gets, 2+ servers)", [&](long long i) {
		return login(e, user_name("rt", i), us_ip(1), t0);
	});
	// The same accounts from the same network 10 s later: within the refresh interval
	// (1/60 of the shortest window, 60 s for 10/1h), nothing to write.
	measure("login: known network, seen within the refresh interval", "gets", [&](long long i) {
		return login(e, user_name("rt", i), us_ip(1), t0 + 10);
	});
	// The same network after the refresh interval: its last-seen time is rewritten.
	measure("login: known network, last seen before the refresh interval", "gets + cas", [&](long long i) {
		return login(e, user_name("rt", i), us_ip(1), t0 + 200);
	});
	// A network the account has not used (1 of 10 allowed within 1h).
	measure("login: new network", "gets + cas", [&](long long i) {
		return login(e, user_name("rt", i), us_ip(2), t0 + 210);
	});
	// Up to the limit (10 networks), then the 11th locks the account.
	for (long long i = 0; i < n; i++)
		for (int k = 3; k <= 10; k++)
			login(e, user_name("rt", i), us_ip(k), t0 + 220);
	measure("login: crosses the limit and locks the account", "gets + cas (+ replica set)", [&](long long i) {
		return login(e, user_name("rt", i), us_ip(11), t0 + 230);
	});
	measure("login: locked account (refused)", "gets", [&](long long i) {
		return login(e, user_name("rt", i), us_ip(11), t0 + 240);
	});

	// One memcached item per account holds the lock, the login history and the recipient
	// counts: a RCPT reads and writes the item the logins above wrote. (The "rt" accounts are
	// locked by now; a session that logged in before the lock still counts its recipients.)
	measure("rcpt: first recipient of an account that logged in", "gets + cas", [&](long long i) {
		return rcpt(e, user_name("rt", i), t0 + 250);
	});
	measure("rcpt: accepted", "gets + cas", [&](long long i) {
		return rcpt(e, user_name("rt", i), t0 + 260);
	});
	// An account without an item (no recorded login within the windows): the miss also asks
	// the lock replica when there is one (two or more servers), so that counting cannot write
	// an item that hides a lock lost with its server.
	measure("rcpt: first recipient of an account without a record", "gets (miss) + add (+ replica gets)",
		[&](long long i) { return rcpt(e, user_name("rl", i), t0 + 260); });
	// Every RCPT (here: the first of a transaction, every RCPT of a one-recipient message)
	// also checks whether the account was locked since this session logged in: the same read.
	measure("rcpt: accepted, first of its transaction (lock check)", "gets + cas",
		[&](long long i) { return rcpt(e, user_name("rl", i), t0 + 270, true); });
	measure("rcpt: first of its transaction, account locked since the login", "gets",
		[&](long long i) { return rcpt(e, user_name("rt", i), t0 + 270, true); });

	// Refusals: a low limit; 3 accepted first (not measured).
	Config low = base;
	low.recipient_limit = "3/1h";
	Engine lowe(low);
	for (long long i = 0; i < n; i++)
		for (int k = 0; k < 3; k++)
			rcpt(lowe, user_name("rf", i), t0 + 300);
	for (long long i = 0; i < n; i++)
		rcpt(lowe, user_name("rf", i), t0 + 310); // the first refusal of the window, not measured
	measure("rcpt: refused (over the limit)", "gets", [&](long long i) {
		return rcpt(lowe, user_name("rf", i), t0 + 320);
	});
	// The first refusal of a window with account_guard_notify set: the incident marker, once
	// per account and window (the account's history for the mail comes from the same read).
	Config notify = low;
	notify.notify = "postmaster@bench.example";
	Engine notifye(notify);
	for (long long i = 0; i < n; i++)
		for (int k = 0; k < 3; k++)
			rcpt(notifye, user_name("rn", i), t0 + 300);
	measure("rcpt: first refusal of a window, notify on", "gets + add (once per incident)",
		[&](long long i) { return rcpt(notifye, user_name("rn", i), t0 + 330); });
	return backend_errors == 0 ? 0 : 1;
}

// ---- item 5: bytes per account ----
// One item per account (kind 'a': lock, login history and recipient counts together) plus,
// only after an incident, the notification marker ('n') and a lock's replica ('l'). The
// output counts items per kind, so whatever the engine writes is reported as it is.

int memory(const Args &args)
{
	std::vector<StatsClient> mc;
	for (const std::string &s : split(args.stats, ','))
		mc.emplace_back(s);
	Config config;
	config.servers = args.servers;
	config.country_db = args.country_db;
	config.asn_db = args.asn_db;
	Engine e(config);
	const long long accounts = args.accounts;
	const time_t now = std::time(nullptr);

	Stats before = total_stats(mc);
	Stats slabs_before = total_stats(mc, "slabs");
	auto start = std::chrono::steady_clock::now();
	long long refused = 0, operations = 0;
	for (long long a = 0; a < accounts; a++) {
		const std::string user = user_name(args.shape.c_str(), a);
		if (args.shape == "typical") {
			// An ordinary customer: one network (and its country), recipients in one
			// bucket of each window.
			refused += login(e, user, us_ip(a % 512, 1 + a / 512 % 250), now) == AG_VERDICT_REFUSE;
			refused += rcpt(e, user, now) == AG_VERDICT_REFUSE;
			operations += 2;
		} else {
			// As much as the default limits keep without locking: 10 networks within 1h
			// (10/1h) from 3 countries (3/24h), and recipients in all 12 buckets of both
			// windows (500/1h, 2000/24h).
			const bool v6 = args.shape == "full6";
			for (int k = 0; k < 8; k++) {
				const std::string ip = v6 ? v6_ip(a * 8 + k) : us_ip(a * 8 + k);
				refused += login(e, user, ip, now - 3000 + k * 60) == AG_VERDICT_REFUSE;
			}
			refused += login(e, user, "192.0.2." + std::to_string(1 + a % 250), now - 2000) == AG_VERDICT_REFUSE;
			refused += login(e, user, "198.51.100." + std::to_string(1 + a % 250), now - 1000) == AG_VERDICT_REFUSE;
			for (int k = 11; k >= 1; k--)
				refused += rcpt(e, user, now - k * 7200) == AG_VERDICT_REFUSE;
			for (int k = 11; k >= 0; k--)
				refused += rcpt(e, user, now - k * 300) == AG_VERDICT_REFUSE;
			operations += 10 + 23;
		}
	}
	double secs = seconds_since(start);
	Stats after = total_stats(mc);
	Stats slabs_after = total_stats(mc, "slabs");

	// Memory with slab rounding: every used chunk costs its class's chunk size.
	auto slab_bytes = [](const Stats &slabs) {
		std::map<std::string, long long> chunk_size, used;
		for (const auto &kv : slabs) {
			auto colon = kv.first.find(':');
			if (colon == std::string::npos)
				continue;
			std::string cls = kv.first.substr(0, colon), what = kv.first.substr(colon + 1);
			if (what == "chunk_size")
				chunk_size[cls] = kv.second;
			else if (what == "used_chunks")
				used[cls] = kv.second;
		}
		long long total = 0;
		for (const auto &kv : used)
			total += kv.second * chunk_size[kv.first];
		return total;
	};
	std::string classes;
	for (const auto &kv : slabs_after) {
		auto colon = kv.first.find(':');
		if (colon == std::string::npos || kv.first.substr(colon + 1) != "used_chunks" || kv.second == 0)
			continue;
		std::string cls = kv.first.substr(0, colon);
		long long before_used = slabs_before.count(kv.first) ? slabs_before.at(kv.first) : 0;
		if (kv.second - before_used <= 0)
			continue;
		char buf[128];
		std::snprintf(buf, sizeof(buf), "%s{\"chunk_size\":%lld,\"items\":%lld}", classes.empty() ? "" : ",",
			      slabs_after.count(cls + ":chunk_size") ? slabs_after.at(cls + ":chunk_size") : 0,
			      kv.second - before_used);
		classes += buf;
	}
	// Per kind of key (the character after the prefix "ag:"): items, key length, value
	// length (from a sample read back) and item size as memcached accounts it.
	std::map<char, std::vector<std::pair<std::string, long long>>> kinds;
	for (StatsClient &c : mc)
		for (auto &item : c.metadump())
			kinds[item.first.size() > 3 ? item.first[3] : '?'].push_back(std::move(item));
	std::string per_kind;
	for (auto &kv : kinds) {
		auto &items = kv.second;
		long long size_sum = 0, key_sum = 0;
		for (const auto &it : items) {
			size_sum += it.second;
			key_sum += static_cast<long long>(it.first.size());
		}
		// Every 1/200th item, read back from the server(s) that hold it.
		std::vector<std::string> sample;
		for (size_t i = 0; i < items.size() && sample.size() < 200; i += std::max<size_t>(1, items.size() / 200))
			sample.push_back(items[i].first);
		long long value_sum = 0, value_n = 0, value_min = -1, value_max = 0;
		for (StatsClient &c : mc) {
			auto sizes = c.value_sizes(sample);
			for (long long v : sizes) {
				if (v < 0)
					continue;
				value_sum += v;
				value_n++;
				value_min = value_min < 0 ? v : std::min(value_min, v);
				value_max = std::max(value_max, v);
			}
		}
		const double n_items = static_cast<double>(items.size());
		const double key = static_cast<double>(key_sum) / n_items;
		const double value = value_n ? static_cast<double>(value_sum) / static_cast<double>(value_n) : 0;
		const double item = static_cast<double>(size_sum) / n_items;
		char buf[320];
		std::snprintf(buf, sizeof(buf),
			      "%s{\"kind\":\"%c\",\"items\":%zu,\"key\":%.1f,\"value\":%.1f,\"value_min\":%lld,"
			      "\"value_max\":%lld,\"item\":%.1f,\"overhead\":%.1f}",
			      per_kind.empty() ? "" : ",", kv.first, items.size(), key, value, value_min, value_max,
			      item, item - key - value);
		per_kind += buf;
	}

	auto delta = [&](const char *name) {
		return (after.count(name) ? after.at(name) : 0) - (before.count(name) ? before.at(name) : 0);
	};
	std::printf("{\"bench\":\"memory\",\"shape\":\"%s\",\"accounts\":%lld,\"operations\":%lld,\"refused\":%lld,"
		    "\"backend_errors\":%lld,\"seconds\":%.2f,\"items\":%lld,\"bytes\":%lld,\"slab_bytes\":%lld,"
		    "\"hash_bytes\":%lld,\"evictions\":%lld,\"classes\":[%s],\"kinds\":[%s]}\n",
		    args.shape.c_str(), accounts, operations, refused, backend_errors, secs, delta("curr_items"),
		    delta("bytes"), slab_bytes(slabs_after) - slab_bytes(slabs_before), after["hash_bytes"],
		    delta("evictions"), classes.c_str(), per_kind.c_str());
	return backend_errors == 0 && refused == 0 ? 0 : 1;
}

} // namespace

int main(int argc, char **argv)
{
	try {
		Args args = parse_args(argc, argv);
		if (args.mode == "roundtrips")
			return roundtrips(args);
		if (args.mode == "memory")
			return memory(args);
		std::fprintf(stderr, "store-bench: unknown mode %s\n", args.mode.c_str());
		return 2;
	} catch (const std::exception &e) {
		std::fprintf(stderr, "store-bench: %s\n", e.what());
		return 2;
	}
}
