// MemcachedStore against a real memcached started on 127.0.0.1 by the test itself.

#include "memcached-store.hh"
#include "memcached-process.hh"

#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <string>
#include <optional>
#include <thread>

using namespace account_guard;
using namespace account_guard::test;
using namespace std::chrono_literals;

namespace {

// One read-modify-write increment of a decimal counter, retried until its CAS wins.
// Returns the number of conflicts it met.
int increment(Store &store, const std::string &key)
{
	for (int conflicts = 0;; conflicts++) {
		auto current = store.gets(key);
		long value = current ? std::stol(current->value) : 0;
		if (store.compare_and_swap(key, std::to_string(value + 1), current ? current->cas : 0,
					   0) == CasResult::stored)
			return conflicts;
	}
}

} // namespace

TEST_CASE("memcached-store: gets on a missing key is nullopt")
{
	MemcachedProcess memcached;
	MemcachedStore store(memcached.servers(), 100ms);
	CHECK_FALSE(store.gets("ag:h:missing"));
	// A second miss on the same connection: the first left nothing queued.
	CHECK_FALSE(store.gets("ag:h:missing"));
}

TEST_CASE("memcached-store: add then gets returns the value with a nonzero cas")
{
	MemcachedProcess memcached;
	MemcachedStore store(memcached.servers(), 100ms);
	CHECK(store.add("ag:h:one", "first", 0));
	auto got = store.gets("ag:h:one");
	REQUIRE(got);
	CHECK(got->value == "first");
	CHECK(got->cas != 0);
}

TEST_CASE("memcached-store: binary values with NUL bytes round-trip")
{
	MemcachedProcess memcached;
	MemcachedStore store(memcached.servers(), 100ms);
	std::string value;
	for (int i = 0; i < 4096; i++)
		value.push_back(static_cast<char>(i % 256));
	value += std::string("\0\0\r\nEND\r\n\0", 11);
	const std::string small("\0a\0", 3);

	store.set("ag:h:bin", value, 0);
	auto got = store.gets("ag:h:bin");
	REQUIRE(got);
	CHECK(got->value.size() == value.size());
	CHECK(got->value == value);

	// The reused result buffer does not leak the longer previous value into a shorter one.
	store.set("ag:h:bin", small, 0);
	got = store.gets("ag:h:bin");
	REQUIRE(got);
	CHECK(got->value == small);

	store.set("ag:h:empty", "", 0);
	got = store.gets("ag:h:empty");
	REQUIRE(got);
	CHECK(got->value.empty());
}

TEST_CASE("memcached-store: compare_and_swap stores with the right cas, conflicts with a stale one")
{
	MemcachedProcess memcached;
	MemcachedStore store(memcached.servers(), 100ms);
	store.set("ag:h:cas", "v1", 0);
	auto v1 = store.gets("ag:h:cas");
	REQUIRE(v1);

	CHECK(store.compare_and_swap("ag:h:cas", "v2", v1->cas, 0) == CasResult::stored);
	auto v2 = store.gets("ag:h:cas");
	REQUIRE(v2);
	CHECK(v2->value == "v2");
	CHECK(v2->cas != v1->cas);

	CHECK(store.compare_and_swap("ag:h:cas", "v3", v1->cas, 0) == CasResult::conflict);
	CHECK(store.gets("ag:h:cas")->value == "v2");

	// The key vanished since gets(): a conflict too, not an error.
	store.remove("ag:h:cas");
	CHECK(store.compare_and_swap("ag:h:cas", "v4", v2->cas, 0) == CasResult::conflict);
	CHECK_FALSE(store.gets("ag:h:cas"));
}

TEST_CASE("memcached-store: compare_and_swap with cas 0 adds, and conflicts on an existing key")
{
	MemcachedProcess memcached;
	MemcachedStore store(memcached.servers(), 100ms);
	CHECK(store.compare_and_swap("ag:h:new", "a", 0, 0) == CasResult::stored);
	CHECK(store.compare_and_swap("ag:h:new", "b", 0, 0) == CasResult::conflict);
	CHECK(store.gets("ag:h:new")->value == "a");
}

TEST_CASE("memcached-store: add returns false on an existing key")
{
	MemcachedProcess memcached;
	MemcachedStore store(memcached.servers(), 100ms);
	CHECK(store.add("ag:n:dedup", "x", 0));
	CHECK_FALSE(store.add("ag:n:dedup", "y", 0));
	CHECK(store.gets("ag:n:dedup")->value == "x");
}

TEST_CASE("memcached-store: remove of a missing key is fine, remove deletes")
{
	MemcachedProcess memcached;
	MemcachedStore store(memcached.servers(), 100ms);
	CHECK_NOTHROW(store.remove("ag:h:never"));
	store.set("ag:h:gone", "x", 0);
	store.remove("ag:h:gone");
	CHECK_FALSE(store.gets("ag:h:gone"));
}

TEST_CASE("memcached-store: an absolute expiry time removes the key once it has passed")
{
	MemcachedProcess memcached;
	MemcachedStore store(memcached.servers(), 100ms);
	const std::time_t expires = std::time(nullptr) + 2;
	store.set("ag:r:exp", "soon", expires);
	CHECK(store.add("ag:n:exp", "soon", expires));
	REQUIRE(store.gets("ag:r:exp"));

	// memcached's clock ticks once a second: the item is gone a second or so after (the
	// deadline is for a failing test only).
	auto deadline = Clock::now() + 30s;
	while (store.gets("ag:r:exp") && Clock::now() < deadline)
		std::this_thread::sleep_for(50ms);
	CHECK(std::time(nullptr) >= expires - 1);
	CHECK_FALSE(store.gets("ag:r:exp"));
	CHECK_FALSE(store.gets("ag:n:exp"));
}

TEST_CASE("memcached-store: an expiry time in the past stores nothing visible")
{
	MemcachedProcess memcached;
	MemcachedStore store(memcached.servers(), 100ms);
	// A recent past time, and times small enough that memcached would read them as relative
	// ("that many seconds from now") if they were passed through unchanged.
	const std::time_t past = GENERATE(std::time_t(-5), std::time_t(1), std::time_t(100),
					  std::time_t(60 * 60 * 24 * 30), std::time(nullptr) - 10);
	CAPTURE(past);
	store.set("ag:r:past", "x", past);
	CHECK_FALSE(store.gets("ag:r:past"));
	// And a far future time is kept (not wrapped into the past).
	store.set("ag:r:future", "x", std::time(nullptr) + 10 * 365 * 86400);
	CHECK(store.gets("ag:r:future"));
}

TEST_CASE("memcached-store: two instances racing read-modify-write increments lose none")
{
	MemcachedProcess memcached;
	const std::string key = "ag:r:counter";

	SECTION("interleaved in one thread, every second write conflicting")
	{
		MemcachedStore node_a(memcached.servers(), 100ms);
		MemcachedStore node_b(memcached.servers(), 100ms);
		int conflicts = 0;
		for (int i = 0; i < 500; i++) {
			// Both nodes read the same version; a writes first, so b's CAS must lose
			// and b retries from a fresh read.
			auto a = node_a.gets(key);
			auto b = node_b.gets(key);
			long av = a ? std::stol(a->value) : 0;
			long bv = b ? std::stol(b->value) : 0;
			REQUIRE(node_a.compare_and_swap(key, std::to_string(av + 1), a ? a->cas : 0, 0) ==
				CasResult::stored);
			if (node_b.compare_and_swap(key, std::to_string(bv + 1), b ? b->cas : 0, 0) ==
			    CasResult::conflict) {
				conflicts++;
				conflicts += increment(node_b, key);
			}
		}
		CHECK(conflicts >= 500);
		CHECK(node_a.gets(key)->value == "1000");
	}

	SECTION("two processes at once")
	{
		pid_t children[2];
		for (pid_t &child : children) {
			child = fork();
			REQUIRE(child >= 0);
			if (child == 0) {
				int status = 0;
				try {
					// Built after fork: each process owns its connection.
					MemcachedStore node(memcached.servers(), 1000ms);
					for (int i = 0; i < 500; i++)
						increment(node, key);
				} catch (...) {
					status = 1;
				}
				_exit(status);
			}
		}
		for (pid_t child : children) {
			int status = -1;
			REQUIRE(waitpid(child, &status, 0) == child);
			CHECK(WIFEXITED(status));
			CHECK(WEXITSTATUS(status) == 0);
		}
		MemcachedStore reader(memcached.servers(), 100ms);
		CHECK(reader.gets(key)->value == "1000");
	}
}

TEST_CASE("memcached-store: a refused value or key is a StoreError and leaves the connection usable")
{
	MemcachedProcess memcached;
	MemcachedStore store(memcached.servers(), 1000ms);
	// memcached's default item size limit is 1 MB.
	const std::string huge(2 * 1024 * 1024, 'v');
	CHECK_THROWS_AS(store.set("ag:h:big", huge, 0), StoreError);
	CHECK_THROWS_AS(store.gets(std::string(300, 'k')), StoreError);
	CHECK_THROWS_AS(store.set("", "v", 0), StoreError);
	try {
		store.set(std::string(300, 'k'), "v", 0);
	} catch (const StoreError &e) {
		const std::string message = e.what();
		CHECK(message.find("BAD KEY") != std::string::npos);
		CHECK(message.size() < 300);
	}
	store.set("ag:h:small", "fine", 0);
	CHECK(store.gets("ag:h:small")->value == "fine");
	CHECK_FALSE(store.gets("ag:h:big"));
}

TEST_CASE("memcached-store: the constructor does not connect; the first call does")
{
	MemcachedProcess memcached;
	// Each accepted_connections() query is one accepted connection itself.
	const long before = memcached.accepted_connections();
	MemcachedStore store(memcached.servers(), 100ms);
	CHECK(memcached.accepted_connections() == before + 1);
	CHECK_FALSE(store.gets("ag:h:x"));
	CHECK(memcached.accepted_connections() == before + 3);
	// Later calls reuse that connection.
	store.set("ag:h:x", "1", 0);
	CHECK(store.gets("ag:h:x"));
	CHECK(memcached.accepted_connections() == before + 4);
}

TEST_CASE("memcached-store: invalid construction arguments are refused")
{
	const std::vector<Server> ok = {Server{"127.0.0.1", 11211}};
	CHECK_THROWS_AS(MemcachedStore({}, 100ms), std::invalid_argument);
	CHECK_THROWS_AS(MemcachedStore({Server{"", 11211}}, 100ms), std::invalid_argument);
	CHECK_THROWS_AS(MemcachedStore({Server{"127.0.0.1", 0}}, 100ms), std::invalid_argument);
	CHECK_THROWS_AS(MemcachedStore(ok, 0ms), std::invalid_argument);
	CHECK_THROWS_AS(MemcachedStore(ok, 100ms, -1s), std::invalid_argument);
	MemcachedStore two({Server{"127.0.0.1", 11211}, Server{"::1", 11212}}, 100ms);
	CHECK(two.servers_text() == "127.0.0.1:11211,[::1]:11212");
}

TEST_CASE("memcached-store: an unreachable server throws without waiting for the timeout, then is skipped")
{
	DeadPort dead;
	const std::uint16_t port = dead.port();
	// A long timeout and retry interval: a refused connect must not wait for the one, and
	// every later call falls within the other, however slow the machine.
	const auto timeout = 5000ms;
	MemcachedStore store({Server{"127.0.0.1", port}}, timeout, 60s);

	auto start = Clock::now();
	std::string message;
	try {
		store.gets("ag:h:x");
	} catch (const StoreError &e) {
		message = e.what();
	}
	const double first_ms = ms_since(start);
	INFO("error: " << message);
	CHECK(message.find("127.0.0.1:" + std::to_string(port)) != std::string::npos);
	// Refused, not timed out: no wait for the timeout (half of it is a wide margin).
	CHECK(message.find("Connection refused") != std::string::npos);
	CHECK(first_ms < timeout.count() / 2);

	auto rest = Clock::now();
	int skipped = 0;
	for (int i = 0; i < 20; i++) {
		try {
			switch (i % 5) {
			case 0: store.gets("ag:h:x"); break;
			case 1: store.set("ag:h:x", "v", 0); break;
			case 2: store.add("ag:h:x", "v", 0); break;
			case 3: store.compare_and_swap("ag:h:x", "v", 7, 0); break;
			case 4: store.remove("ag:h:x"); break;
			}
		} catch (const StoreError &e) {
			// libmemcached's word for a server it has put in timeout (a refused port
			// keeps no count of connects that a test could read instead).
			const std::string what = e.what();
			INFO(what);
			CHECK(what.find("SERVER HAS FAILED AND IS DISABLED") != std::string::npos);
			if (what.find("SERVER HAS FAILED AND IS DISABLED") != std::string::npos)
				skipped++;
		}
	}
	const double rest_ms = ms_since(rest);
	WARN("dead port: first failed call " << first_ms << " ms, next 20 calls " << rest_ms
					     << " ms in total; first error: " << message);
	CHECK(skipped == 20);
}

TEST_CASE("memcached-store: a killed and restarted memcached is used again after the retry interval")
{
	MemcachedProcess memcached;
	MemcachedStore store(memcached.servers(), 100ms, 1s);
	store.set("ag:h:x", "before", 0);
	REQUIRE(store.gets("ag:h:x"));

	memcached.stop();
	int thrown = 0;
	std::string message;
	auto down = Clock::now();
	for (int i = 0; i < 10; i++) {
		try {
			store.gets("ag:h:x");
		} catch (const StoreError &e) {
			if (message.empty())
				message = e.what();
			thrown++;
		}
	}
	const double down_ms = ms_since(down);
	CHECK(thrown == 10);
	// The open connection's end of file is not what is reported: the reconnect is refused.
	CHECK(message.find("Connection refused") != std::string::npos);

	memcached.start();
	REQUIRE(memcached.pid() > 0);
	// Tried again once the retry interval has passed (the deadline is for a failing test only).
	auto back = Clock::now();
	int failures_after_restart = 0;
	bool recovered = false;
	while (!recovered && Clock::now() < back + 30s) {
		try {
			store.set("ag:h:x", "after", 0);
			recovered = true;
		} catch (const StoreError &) {
			failures_after_restart++;
			std::this_thread::sleep_for(10ms);
		}
	}
	const double recovery_ms = ms_since(back);
	WARN("restart: 10 calls while down took " << down_ms << " ms (first error: " << message
						 << "); usable again " << recovery_ms
						 << " ms after memcached was back ("
						 << failures_after_restart << " calls failed meanwhile)");
	REQUIRE(recovered);
	CHECK(store.gets("ag:h:x")->value == "after");
}

TEST_CASE("memcached-store: a restart between two calls costs no failed call")
{
	MemcachedProcess memcached;
	MemcachedStore store(memcached.servers(), 100ms);
	store.set("ag:h:x", "before", 0);
	// The store still holds its connection to the old process, closed now; every kind of
	// call must notice that, reconnect and succeed.
	memcached.stop();
	memcached.start();
	REQUIRE(memcached.pid() > 0);
	const std::string operation = GENERATE("gets", "set", "add", "cas", "cas0", "delete");
	CAPTURE(operation);
	if (operation == "gets")
		CHECK_FALSE(store.gets("ag:h:x"));
	else if (operation == "set")
		store.set("ag:h:x", "after", 0);
	else if (operation == "add")
		CHECK(store.add("ag:h:x", "after", 0));
	else if (operation == "cas")
		CHECK(store.compare_and_swap("ag:h:x", "after", 12345, 0) == CasResult::conflict);
	else if (operation == "cas0")
		CHECK(store.compare_and_swap("ag:h:x", "after", 0, 0) == CasResult::stored);
	else
		store.remove("ag:h:x");
	store.set("ag:h:y", "next", 0);
	CHECK(store.gets("ag:h:y")->value == "next");
}

namespace {

// Whether an error says the server was skipped, not asked: by MemcachedStore after a request
// timed out, or by libmemcached after a connect failed.
bool says_skipped(const std::string &what)
{
	return what.find(" timed out; skipped for ") != std::string::npos ||
	       what.find("SERVER HAS FAILED AND IS DISABLED") != std::string::npos;
}

// The calls after a timeout: each must throw that the server is skipped, without waiting for
// the timeout again. Their total time is compared with what waiting would cost (20 times the
// timeout) with a wide margin. Returns the total in ms, for the figures.
template <typename Call>
double expect_skipped(std::chrono::milliseconds timeout, Call &&call)
{
	auto start = Clock::now();
	int skipped = 0;
	for (int i = 0; i < 20; i++) {
		try {
			call();
		} catch (const StoreError &e) {
			const std::string what = e.what();
			INFO(what);
			CHECK(says_skipped(what));
			if (says_skipped(what))
				skipped++;
		}
	}
	const double ms = ms_since(start);
	CHECK(skipped == 20);
	CHECK(ms < 20 * timeout.count() / 2);
	return ms;
}

} // namespace

TEST_CASE("memcached-store: a server that accepts but does not answer costs the timeout once")
{
	MemcachedProcess memcached;
	const auto timeout = 100ms;
	MemcachedStore store(memcached.servers(), timeout, 2s);
	store.set("ag:h:x", "kept", 0);
	REQUIRE(store.gets("ag:h:x"));

	memcached.pause();
	auto start = Clock::now();
	std::string message;
	try {
		store.set("ag:h:x", "lost", 0);
	} catch (const StoreError &e) {
		message = e.what();
	}
	const double first_ms = ms_since(start);
	// It waited for the timeout (a lower bound: never failed by a slow machine), and the
	// timeout ended the wait (the upper bound is only that: memcached would never answer).
	CHECK(message.find("TIMEOUT") != std::string::npos);
	CHECK(first_ms >= 0.9 * timeout.count());
	CHECK(first_ms < 100 * timeout.count());
	const double rest_ms = expect_skipped(timeout, [&] { store.gets("ag:h:x"); });
	WARN("stopped memcached: first call " << first_ms << " ms (" << message << "), next 20 calls "
					      << rest_ms << " ms in total");

	memcached.resume();
	auto back = Clock::now();
	std::optional<Versioned> got;
	while (!got && Clock::now() < back + 30s) {
		try {
			got = store.gets("ag:h:x");
		} catch (const StoreError &) {
			std::this_thread::sleep_for(10ms);
		}
	}
	INFO("usable again after " << ms_since(back) << " ms");
	REQUIRE(got);
	// The late answer to the timed-out request was not taken for the answer to a later one:
	// the connection was dropped and the value is whatever memcached made of the set.
	CHECK((got->value == "kept" || got->value == "lost"));
	store.set("ag:h:x", "fresh", 0);
	CHECK(store.gets("ag:h:x")->value == "fresh");
}

TEST_CASE("memcached-store: a connect that is never answered costs the timeout once")
{
	UnansweredPort unanswered;
	const auto timeout = 100ms;
	MemcachedStore store({Server{"127.0.0.1", unanswered.port()}}, timeout, 2s);
	auto start = Clock::now();
	std::string message;
	try {
		store.gets("ag:h:x");
	} catch (const StoreError &e) {
		message = e.what();
	}
	const double first_ms = ms_since(start);
	CHECK(message.find("TIMEOUT") != std::string::npos);
	CHECK(first_ms >= 0.9 * timeout.count());
	CHECK(first_ms < 100 * timeout.count());
	const double rest_ms = expect_skipped(timeout, [&] { store.set("ag:h:x", "v", 0); });
	WARN("unanswered connect: first call " << first_ms << " ms, next 20 calls " << rest_ms
					       << " ms in total");
}

TEST_CASE("memcached-store: nodes listing the servers in any order place keys alike")
{
	MemcachedProcess one;
	MemcachedProcess two;
	const Server s1{"127.0.0.1", one.port()};
	const Server s2{"127.0.0.1", two.port()};
	MemcachedStore node_a({s1, s2}, 100ms);
	MemcachedStore node_b({s2, s1}, 100ms);
	MemcachedStore only_one({s1}, 100ms);
	int on_one = 0;
	for (int i = 0; i < 100; i++) {
		const std::string key = "ag:h:" + std::to_string(i);
		node_a.set(key, std::to_string(i), 0);
		auto got = node_b.gets(key);
		REQUIRE(got);
		CHECK(got->value == std::to_string(i));
		if (only_one.gets(key))
			on_one++;
	}
	// Both servers hold a fair share.
	CHECK(on_one > 20);
	CHECK(on_one < 80);
}

TEST_CASE("memcached-store: with one server of two down, the other's keys still work")
{
	MemcachedProcess alive;
	DeadPort dead;
	// A retry interval longer than any run: the dead server is tried once.
	MemcachedStore store({Server{"127.0.0.1", alive.port()}, Server{"127.0.0.1", dead.port()}},
			     100ms, 60s);
	int stored = 0, refused = 0, skipped = 0, other = 0;
	for (int i = 0; i < 200; i++) {
		const std::string key = "ag:h:" + std::to_string(i);
		try {
			store.set(key, "v", 0);
			CHECK(store.gets(key));
			stored++;
		} catch (const StoreError &e) {
			const std::string what = e.what();
			if (what.find("Connection refused") != std::string::npos)
				refused++;
			else if (what.find("SERVER HAS FAILED AND IS DISABLED") != std::string::npos)
				skipped++;
			else
				other++;
		}
	}
	INFO("stored " << stored << ", refused " << refused << ", skipped " << skipped << ", other "
		       << other);
	CHECK(stored > 40);
	// One connect to the dead server; its keys' later calls skip it.
	CHECK(refused == 1);
	CHECK(skipped > 40);
	CHECK(other == 0);
}
