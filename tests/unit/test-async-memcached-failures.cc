// AsyncMemcached's failures and recovery: refused and unanswered connects, a hung server,
// restarts, a server that drops connections or answers garbage (fake servers answered by hand),
// values and keys refused.

#include "async-memcached.hh"
#include "async-memcached-fixture.hh"
#include "fake-memcached-server.hh"
#include "memcached-process.hh"

#include <catch2/catch.hpp>

#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <string>
#include <thread>
#include <vector>

using namespace account_guard;
using namespace account_guard::test;
using namespace std::chrono_literals;

TEST_CASE("async-memcached: a refused connect fails without waiting for the timeout, asynchronously, then is skipped for the retry interval")
{
	DeadPort dead;
	Fixture f({Server{"127.0.0.1", dead.port()}}, 500ms, 1s);
	// Answered with the store's clock where it was: no timeout had to pass.
	Waiter w = f.gets("ag:h:x");
	CHECK(w.status == S::failed);
	INFO(w.error);
	CHECK(w.error.rfind("memcached gets 'ag:h:x' failed: server 127.0.0.1:" +
				    std::to_string(dead.port()) + ": cannot connect: ",
			    0) == 0);
	CHECK(w.error.find("refused") != std::string::npos);
	CHECK(w.error.find(" [servers 127.0.0.1:" + std::to_string(dead.port()) + "]") !=
	      std::string::npos);
	CHECK(f.store->stats().timeouts == 0);
	CHECK(f.store->stats().connect_attempts == 1);
	CHECK(f.loop.watched.empty());

	// Suspended: the next requests fail without a connect or a write, still never inside
	// the call, until the retry interval has passed on the store's clock.
	Waiter second = f.set("ag:h:x", "v");
	CHECK(second.status == S::failed);
	CHECK(second.error.find("memcached set 'ag:h:x' failed") == 0);
	CHECK(second.error.find("skipped for 1 s") != std::string::npos);
	f.advance(999ms);
	Waiter third = f.gets("ag:h:x");
	CHECK(third.status == S::failed);
	CHECK(third.error.find("skipped for 1 s") != std::string::npos);
	CHECK(f.store->stats().connect_attempts == 1);
	CHECK(f.store->stats().writes == 0);

	// After the retry interval, a request tries again.
	f.advance(1ms);
	Waiter fourth = f.gets("ag:h:x");
	CHECK(fourth.status == S::failed);
	CHECK(fourth.error.find("refused") != std::string::npos);
	CHECK(f.store->stats().connect_attempts == 2);
}

TEST_CASE("async-memcached: a server that comes up after the retry interval is used")
{
	MemcachedProcess memcached;
	const auto servers = memcached.servers();
	memcached.stop();
	Fixture f(servers, 500ms, 1s);
	CHECK(f.gets("ag:h:x").status == S::failed);
	memcached.start();
	REQUIRE(memcached.pid() > 0);
	f.advance(999ms);
	CHECK(f.gets("ag:h:x").status == S::failed); // still skipped
	CHECK(f.store->stats().connect_attempts == 1);
	f.advance(1ms);
	CHECK(f.gets("ag:h:x").status == S::miss);
	CHECK(f.set("ag:h:x", "v").status == S::stored);
	CHECK(f.store->stats().connect_attempts == 2);
}

TEST_CASE("async-memcached: a hung server fails after the timeout; the other's keys do not wait")
{
	MemcachedProcess good, hung;
	const std::vector<Server> servers{{"127.0.0.1", good.port()}, {"127.0.0.1", hung.port()}};
	Fixture f(servers, 150ms, 1s);
	const std::string good_key = key_on(*f.store, 0), hung_key = key_on(*f.store, 1);
	// Both connections open first.
	CHECK(f.set(good_key, "g").status == S::stored);
	CHECK(f.set(hung_key, "h").status == S::stored);

	hung.pause();
	Waiter on_hung, on_good;
	f.gets(hung_key, on_hung);
	f.gets(good_key, on_good);
	// The other server's key is answered while the hung one's waits.
	REQUIRE(f.wait(on_good));
	CHECK(on_good.status == S::hit);
	CHECK(on_hung.answers == 0);
	// Not failed before its timeout has passed on the store's clock (the timer fired early
	// on purpose)...
	f.advance(149ms);
	f.loop.fire();
	CHECK(on_hung.answers == 0);
	CHECK(f.store->stats().timeouts == 0);
	// ...and failed once it has.
	f.advance(1ms);
	REQUIRE(f.wait(on_hung));
	CHECK(on_hung.ok());
	CHECK(on_hung.status == S::failed);
	CHECK(on_hung.error == "memcached gets '" + hung_key + "' failed: server 127.0.0.1:" +
				       std::to_string(hung.port()) +
				       " timed out; skipped for 1 s [servers " +
				       f.store->servers_text() + "]");
	CHECK(f.store->stats().timeouts == 1);

	// Suspended: its keys fail at once, without a connect or a write; the other's still work.
	const AsyncMemcached::Stats before = f.store->stats();
	Waiter again = f.gets(hung_key);
	CHECK(again.status == S::failed);
	CHECK(again.error.find("timed out; skipped for 1 s") != std::string::npos);
	CHECK(f.store->stats().connect_attempts == before.connect_attempts);
	CHECK(f.store->stats().writes == before.writes);
	CHECK(f.gets(good_key).status == S::hit);

	hung.resume();
	// Still skipped until the retry interval (from the timeout) has passed.
	f.advance(999ms);
	CHECK(f.gets(hung_key).status == S::failed);
	CHECK(f.store->stats().connect_attempts == before.connect_attempts);
	f.advance(1ms);
	// A new connection: the late answers on the old one cannot be taken for new ones.
	Waiter back = f.gets(hung_key);
	CHECK(back.status == S::hit);
	CHECK(back.value == "h");
	CHECK(f.store->stats().connect_attempts == before.connect_attempts + 1);
	CHECK(f.store->stats().connects == 3);
}

TEST_CASE("async-memcached: a connect that is never answered fails after the timeout")
{
	UnansweredPort unanswered;
	Fixture f({Server{"127.0.0.1", unanswered.port()}}, 100ms);
	Waiter w;
	f.gets("ag:h:x", w);
	CHECK(f.store->stats().connect_attempts == 1);
	// Not before the timeout has passed on the store's clock (the timer fired early on
	// purpose), then at once.
	f.advance(99ms);
	f.loop.fire();
	CHECK(w.answers == 0);
	f.advance(1ms);
	REQUIRE(f.wait(w));
	CHECK(w.ok());
	CHECK(w.status == S::failed);
	CHECK(w.error.find("timed out; skipped for 2 s") != std::string::npos);
	CHECK(f.store->stats().timeouts == 1);
	CHECK(f.loop.watched.empty());
	// Skipped now: no second connect.
	CHECK(f.gets("ag:h:x").status == S::failed);
	CHECK(f.store->stats().connect_attempts == 1);
}

TEST_CASE("async-memcached: a memcached restarted between requests costs no failed request")
{
	MemcachedProcess memcached;
	Fixture f(memcached.servers());
	CHECK(f.set("ag:h:x", "v").status == S::stored);
	memcached.stop();
	memcached.start();
	REQUIRE(memcached.pid() > 0);
	// Made before the loop has seen the old connection's end.
	Waiter w;
	f.gets("ag:h:x", w);
	REQUIRE(f.wait(w));
	CHECK(w.ok());
	CHECK(w.status == S::miss); // a new, empty memcached
	CHECK(f.set("ag:h:x", "again").status == S::stored);
	CHECK(f.gets("ag:h:x").value == "again");
	CHECK(f.store->stats().connects == 2);
}

TEST_CASE("async-memcached: requests a server dropped unanswered are sent once more")
{
	// The first connection reads the request and closes unanswered, the second answers it.
	std::atomic<int> connections{0};
	FakeServer server([&](int listener) {
		for (int i = 0; i < 2; i++) {
			int fd = accept(listener, nullptr, nullptr);
			if (fd < 0)
				return;
			connections++;
			std::string request = read_request(fd);
			if (i == 1 && !request.empty())
				write_all(fd, response(0x00, 1, opaque_of(request), 0, "", "Not found"));
			// Let the client close first on the second connection.
			if (i == 1)
				read_request(fd);
			close(fd);
		}
	});
	Fixture f(server.servers());
	Waiter w = f.gets("ag:h:x");
	CHECK(w.status == S::miss);
	CHECK(f.store->stats().resent == 1);
	CHECK(f.store->stats().connects == 2);
	CHECK(connections == 2);
	f.store.reset();
}

TEST_CASE("async-memcached: a server that drops every connection fails the request after one resend")
{
	FakeServer server([&](int listener) {
		for (;;) {
			int fd = accept(listener, nullptr, nullptr);
			if (fd < 0)
				return;
			read_request(fd);
			close(fd);
		}
	});
	Fixture f(server.servers());
	Waiter w = f.gets("ag:h:x");
	CHECK(w.status == S::failed);
	CHECK(w.error.find("closed the connection") != std::string::npos);
	CHECK(f.store->stats().resent == 1);
	CHECK(f.store->stats().connects == 2);
	f.store.reset();
}

TEST_CASE("async-memcached: garbage, oversized and mismatched responses fail cleanly")
{
	std::function<std::string(const std::string &)> answer;
	std::atomic<int> connections{0};
	FakeServer server([&](int listener) {
		for (;;) {
			int fd = accept(listener, nullptr, nullptr);
			if (fd < 0)
				return;
			connections++;
			std::string request = read_request(fd);
			if (!request.empty())
				write_all(fd, answer(request));
			read_request(fd); // until the client closes
			close(fd);
		}
	});
	Fixture f(server.servers());
	auto expect_failure = [&](const std::string &what) {
		Waiter w = f.gets("ag:h:x");
		CHECK(w.status == S::failed);
		INFO(w.error);
		CHECK(w.error.find("memcached gets 'ag:h:x' failed: server 127.0.0.1:" +
				   std::to_string(server.port())) == 0);
		CHECK(w.error.find(what) != std::string::npos);
		// The connection is closed and not watched any more.
		CHECK(f.loop.watched.empty());
	};

	SECTION("text") {
		answer = [](const std::string &) { return std::string("ERROR\r\n"); };
		expect_failure("malformed response: bad magic");
	}
	SECTION("a body over 1 MiB") {
		answer = [](const std::string &r) {
			return response(0x00, 0, opaque_of(r), 0, "", "", 64u << 20);
		};
		expect_failure("malformed response: body of 67108864 bytes");
	}
	SECTION("another request's opaque") {
		answer = [](const std::string &r) {
			return response(0x00, 1, opaque_of(r) + 1, 0, "", "");
		};
		expect_failure("out of order");
	}
	SECTION("an answer to no request") {
		answer = [](const std::string &r) {
			return response(0x00, 1, opaque_of(r), 0, "", "") +
			       response(0x00, 1, opaque_of(r), 0, "", "");
		};
		// The first answer is taken; the second fails nothing but closes the connection.
		Waiter w = f.gets("ag:h:x");
		CHECK(w.status == S::miss);
		REQUIRE(f.loop.run_until([&] { return f.loop.watched.empty(); }));
	}
	SECTION("an unknown status") {
		answer = [](const std::string &r) {
			return response(0x00, 0x0082, opaque_of(r), 0, "", "Out of memory");
		};
		Waiter w = f.gets("ag:h:x");
		CHECK(w.status == S::failed);
		CHECK(w.error == "memcached gets 'ag:h:x' failed: server 127.0.0.1:" +
					 std::to_string(server.port()) +
					 " answered Out of memory (0x0082) [servers 127.0.0.1:" +
					 std::to_string(server.port()) + "]");
		// A status is an answer: the connection stays.
		CHECK(f.loop.watched.size() == 1);
	}
	// Not suspended: the next request connects again.
	answer = [](const std::string &r) { return response(0x00, 1, opaque_of(r), 0, "", ""); };
	CHECK(f.gets("ag:h:y").status == S::miss);
	f.store.reset();
}

TEST_CASE("async-memcached: a value memcached refuses fails that request only")
{
	MemcachedProcess memcached;
	Fixture f(memcached.servers());
	// 2 MiB: more than memcached's item limit, and more than one write.
	Waiter big = f.set("ag:h:big", std::string(2 << 20, 'x'));
	CHECK(big.status == S::failed);
	CHECK(big.error.find("memcached set 'ag:h:big' failed: server 127.0.0.1:") == 0);
	CHECK(big.error.find("answered Value too large (0x0003)") != std::string::npos);
	CHECK(f.set("ag:h:small", "ok").status == S::stored);
	CHECK(f.gets("ag:h:small").value == "ok");
	CHECK(f.store->stats().connects == 1);
}

TEST_CASE("async-memcached: bad keys fail, asynchronously, without I/O")
{
	MemcachedProcess memcached;
	Fixture f(memcached.servers());
	const std::string long_key(251, 'k');
	Waiter w = f.gets(long_key);
	CHECK(w.status == S::failed);
	CHECK(w.error.find("memcached gets '" + std::string(80, 'k') + "...' failed: ") == 0);
	CHECK(w.error.find("longer than 250 bytes") != std::string::npos);
	CHECK(f.remove("").status == S::failed);
	CHECK(f.store->stats().connect_attempts == 0);
	// 250 bytes is fine.
	CHECK(f.set(std::string(250, 'k'), "v").status == S::stored);
}
