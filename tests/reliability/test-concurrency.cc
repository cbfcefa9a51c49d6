// Concurrency against a real memcached (issue 7): 8 processes — as 8 cluster nodes would —
// work on ONE account at the same time through their own connections. Compare-and-swap must
// lose no update, set a lock exactly once and notify it once; the same for recipients, and
// for logins and recipients of the same account at once (they share one memcached item).
#include "account-service.hh"
#include "memcached-process.hh"
#include "memcached-store.hh"

#include <catch2/catch.hpp>

#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <ctime>
#include <functional>
#include <set>
#include <string>
#include <vector>

using namespace account_guard;
using namespace account_guard::test;

namespace {

// The comma-separated list of account-status (networks, countries) as a set.
std::set<std::string> split_list(const std::string &list)
{
	std::set<std::string> items;
	std::size_t start = 0;
	while (start < list.size()) {
		std::size_t comma = list.find(',', start);
		if (comma == std::string::npos)
			comma = list.size();
		items.insert(list.substr(start, comma - start));
		start = comma + 1;
	}
	return items;
}

constexpr int processes = 8;

struct Tally {
	long allowed = 0;
	long refused = 0;
	long notifications = 0;
	long errors = 0;
};

// Runs work(process index, service, tally) in `processes` forked children at once, each with
// its own memcached connection, and sums what they report back through a pipe.
Tally in_parallel(const MemcachedProcess &mc, const std::function<void(int, AccountService &, Tally &)> &work)
{
	int fds[2];
	REQUIRE(pipe(fds) == 0);
	std::vector<pid_t> children;
	for (int p = 0; p < processes; p++) {
		pid_t pid = fork();
		REQUIRE(pid >= 0);
		if (pid == 0) {
			close(fds[0]);
			MemcachedStore store(mc.servers(), std::chrono::milliseconds(1000));
			AccountService service(store, "ag:");
			Tally t;
			try {
				work(p, service, t);
			} catch (const std::exception &e) {
				std::fprintf(stderr, "process %d: %s\n", p, e.what());
				t.errors++;
			}
			if (write(fds[1], &t, sizeof(t)) != static_cast<ssize_t>(sizeof(t)))
				_exit(1);
			_exit(0);
		}
		children.push_back(pid);
	}
	close(fds[1]);
	Tally sum;
	for (int p = 0; p < processes; p++) {
		Tally t;
		REQUIRE(read(fds[0], &t, sizeof(t)) == static_cast<ssize_t>(sizeof(t)));
		sum.allowed += t.allowed;
		sum.refused += t.refused;
		sum.notifications += t.notifications;
		sum.errors += t.errors;
	}
	close(fds[0]);
	for (pid_t pid : children) {
		int status = 0;
		REQUIRE(waitpid(pid, &status, 0) == pid);
		CHECK((WIFEXITED(status) && WEXITSTATUS(status) == 0));
	}
	return sum;
}

Settings settings_with(const char *name, const char *value, const char *name2 = nullptr,
		       const char *value2 = nullptr)
{
	return parse_settings([=](const char *n) -> const char * {
		if (std::string(n) == name)
			return value;
		if (name2 != nullptr && std::string(n) == name2)
			return value2;
		if (std::string(n) == "account_guard_notify")
			return "postmaster@example.com";
		return nullptr;
	});
}

std::string v6(int process, int i)
{
	char buf[64];
	std::snprintf(buf, sizeof(buf), "2001:db8:%x:%x::1", process + 1, i);
	return buf;
}

LoginResult login(AccountService &service, const Settings &s, const std::string &user, const std::string &ip)
{
	LoginInput in;
	in.user = user;
	in.service = "smtp";
	in.ip = parse_ip(ip);
	in.password = std::string_view("the same password everywhere");
	in.now = static_cast<std::uint32_t>(std::time(nullptr));
	in.new_salt = 1;
	return service.login(s, in);
}

} // namespace

TEST_CASE("concurrency: 8 processes x 1000 logins of one account from distinct networks lose none")
{
	MemcachedProcess mc;
	Settings s = settings_with("account_guard_ip_limit", "10000/1h", "account_guard_country_limit", "0");
	Tally t = in_parallel(mc, [&](int p, AccountService &service, Tally &tally) {
		for (int i = 0; i < 1000; i++) {
			LoginResult r = login(service, s, "alice@example.com", v6(p, i));
			(r.verdict == Verdict::allow ? tally.allowed : tally.refused)++;
		}
	});
	CHECK(t.errors == 0);
	CHECK(t.allowed == 8000);

	MemcachedStore store(mc.servers(), std::chrono::milliseconds(1000));
	AccountService service(store, "ag:");
	AccountStatus st = service.status(s, "alice@example.com", static_cast<std::uint32_t>(std::time(nullptr)));
	CHECK_FALSE(st.locked);
	const std::set<std::string> seen = split_list(st.networks);
	CHECK(seen.size() == 8000);
	for (int p = 0; p < processes; p++) {
		for (int i = 0; i < 1000; i += 97)
			CHECK(seen.count(Network::of(*parse_ip(v6(p, i)), 64).to_string()) == 1);
	}
}

TEST_CASE("concurrency: a lock is set exactly once and notified once")
{
	MemcachedProcess mc;
	Settings s = settings_with("account_guard_ip_limit", "10/1h");
	Tally t = in_parallel(mc, [&](int p, AccountService &service, Tally &tally) {
		for (int i = 0; i < 20; i++) {
			LoginResult r = login(service, s, "bob@example.com", v6(p, i));
			(r.verdict == Verdict::allow ? tally.allowed : tally.refused)++;
			if (r.notification)
				tally.notifications++;
		}
	});
	CHECK(t.errors == 0);
	// Exactly the first 10 distinct networks pass, wherever they came from.
	CHECK(t.allowed == 10);
	CHECK(t.refused == 150);
	CHECK(t.notifications == 1);
}

TEST_CASE("concurrency: 8 processes x 1000 recipients of one account are all counted")
{
	MemcachedProcess mc;
	Settings s = settings_with("account_guard_recipient_limit", "100000/1h");
	Tally t = in_parallel(mc, [&](int, AccountService &service, Tally &tally) {
		for (int i = 0; i < 1000; i++) {
			RcptResult r = service.rcpt(s, "carol@example.com", static_cast<std::uint32_t>(std::time(nullptr)));
			(r.allowed ? tally.allowed : tally.refused)++;
		}
	});
	CHECK(t.errors == 0);
	CHECK(t.allowed == 8000);
	MemcachedStore store(mc.servers(), std::chrono::milliseconds(1000));
	AccountService service(store, "ag:");
	CHECK(service.status(s, "carol@example.com", static_cast<std::uint32_t>(std::time(nullptr))).recipients ==
	      "8000/1h");
}

TEST_CASE("concurrency: logins and recipients of one account at once lose neither a network nor a count")
{
	MemcachedProcess mc;
	Settings s = settings_with("account_guard_ip_limit", "10000/1h", "account_guard_country_limit", "0");
	s.recipient_limit = parse_limit_list("account_guard_recipient_limit", "100000/1h");
	// Every process interleaves its logins (each from a new network) with its recipients, so
	// login writes and RCPT writes of the one item race each other all the time.
	Tally t = in_parallel(mc, [&](int p, AccountService &service, Tally &tally) {
		for (int i = 0; i < 400; i++) {
			LoginResult l = login(service, s, "erin@example.com", v6(p, i));
			(l.verdict == Verdict::allow ? tally.allowed : tally.refused)++;
			for (int k = 0; k < 2; k++) {
				RcptResult r = service.rcpt(s, "erin@example.com",
							    static_cast<std::uint32_t>(std::time(nullptr)), k == 0);
				(r.allowed ? tally.allowed : tally.refused)++;
			}
		}
	});
	CHECK(t.errors == 0);
	CHECK(t.refused == 0);
	CHECK(t.allowed == 8 * 400 * 3);

	MemcachedStore store(mc.servers(), std::chrono::milliseconds(1000));
	AccountService service(store, "ag:");
	AccountStatus st = service.status(s, "erin@example.com", static_cast<std::uint32_t>(std::time(nullptr)));
	CHECK_FALSE(st.locked);
	CHECK(st.recipients == "6400/1h");
	const std::set<std::string> seen = split_list(st.networks);
	CHECK(seen.size() == 8 * 400);
	for (int p = 0; p < processes; p++) {
		for (int i = 0; i < 400; i += 37)
			CHECK(seen.count(Network::of(*parse_ip(v6(p, i)), 64).to_string()) == 1);
	}
}

TEST_CASE("concurrency: a recipient limit lets exactly the limit through, with one notification")
{
	MemcachedProcess mc;
	Settings s = settings_with("account_guard_recipient_limit", "500/1h");
	Tally t = in_parallel(mc, [&](int, AccountService &service, Tally &tally) {
		for (int i = 0; i < 100; i++) {
			RcptResult r = service.rcpt(s, "dave@example.com", static_cast<std::uint32_t>(std::time(nullptr)));
			(r.allowed ? tally.allowed : tally.refused)++;
			if (r.notification)
				tally.notifications++;
		}
	});
	CHECK(t.errors == 0);
	CHECK(t.allowed == 500);
	CHECK(t.refused == 300);
	CHECK(t.notifications == 1);
}
