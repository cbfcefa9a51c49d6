// AsyncMemcached against real memcached processes started on 127.0.0.1 by the test itself: the
// port's operations, batching, placement, names and addresses, its life cycle. Failures and
// recovery are in test-async-memcached-failures.cc, the protocol in test-memcached-protocol.cc.

#include "async-memcached.hh"
#include "async-memcached-fixture.hh"
#include "fake-memcached-server.hh"
#include "memcached-process.hh"
#include "memcached-store.hh"

#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <ctime>
#include <string>
#include <thread>
#include <vector>

using namespace account_guard;
using namespace account_guard::test;
using namespace std::chrono_literals;

TEST_CASE("async-memcached: gets, set, cas, add and remove answer as the port says")
{
	MemcachedProcess memcached;
	Fixture f(memcached.servers());

	CHECK(f.gets("ag:h:a").status == S::miss);
	CHECK(f.set("ag:h:a", std::string("one\0two", 7)).status == S::stored);
	Waiter hit = f.gets("ag:h:a");
	REQUIRE(hit.status == S::hit);
	CHECK(hit.value == std::string("one\0two", 7));
	CHECK(hit.cas != 0);

	// cas with the right token stores; the old token then conflicts.
	CHECK(f.cas("ag:h:a", "three", hit.cas).status == S::stored);
	CHECK(f.cas("ag:h:a", "four", hit.cas).status == S::conflict);
	Waiter now = f.gets("ag:h:a");
	CHECK(now.value == "three");
	CHECK(now.cas != hit.cas);
	// cas 0 is add: conflicts on an existing key, stores on a missing one.
	CHECK(f.cas("ag:h:a", "five", 0).status == S::conflict);
	CHECK(f.cas("ag:h:b", "new", 0).status == S::stored);
	CHECK(f.gets("ag:h:b").value == "new");
	// cas on a key that has gone meanwhile conflicts.
	CHECK(f.remove("ag:h:a").status == S::done);
	CHECK(f.cas("ag:h:a", "six", now.cas).status == S::conflict);
	CHECK(f.gets("ag:h:a").status == S::miss);
	// Removing a missing key is done too.
	CHECK(f.remove("ag:h:a").status == S::done);

	CHECK(f.store->stats().connects == 1);
	CHECK(f.loop.redundant_watch_calls == 0);
}

TEST_CASE("async-memcached: items placed with an anchor: gets_with, add_with, append_with, remove_with")
{
	MemcachedProcess a;
	MemcachedProcess b;
	std::vector<Server> servers = a.servers();
	servers.push_back(b.servers()[0]);
	Fixture f(servers);
	// A companion key that its own hash puts on the other server than the anchor's.
	const std::string anchor = "ag:a:record";
	std::string key;
	for (int i = 0; key.empty(); i++) {
		std::string candidate = "ag:k:" + std::to_string(i);
		if (f.store->server_of(candidate) != f.store->server_of(anchor))
			key = candidate;
	}
	auto with = [&](auto &&call) { return f.answered([&](Waiter &w) { Call c; call(w); }); };

	Waiter none = with([&](Waiter &w) { f.store->gets_with(anchor, key, w); });
	CHECK(none.status == S::miss);
	CHECK_FALSE(none.companion_hit);
	CHECK(with([&](Waiter &w) { f.store->add_with(anchor, key, "L1", 0, w); }).status == S::stored);
	CHECK(with([&](Waiter &w) { f.store->add_with(anchor, key, "L2", 0, w); }).status == S::conflict);
	CHECK(with([&](Waiter &w) { f.store->append_with(anchor, key, "+F", w); }).status == S::stored);
	CHECK(with([&](Waiter &w) { f.store->append_with(anchor, "ag:k:absent", "+F", w); }).status == S::conflict);
	// On the anchor's server, not where its own hash would put it.
	CHECK(f.gets(key).status == S::miss);
	Waiter only_lock = with([&](Waiter &w) { f.store->gets_with(anchor, key, w); });
	CHECK(only_lock.status == S::miss);
	CHECK(only_lock.companion_hit);
	CHECK(only_lock.companion_value == "L1+F");
	CHECK(f.set(anchor, "R").status == S::stored);
	Waiter both = with([&](Waiter &w) { f.store->gets_with(anchor, key, w); });
	CHECK(both.status == S::hit);
	CHECK(both.value == "R");
	CHECK(both.cas != 0);
	CHECK(both.companion_value == "L1+F");
	// MemcachedStore (libmemcached's *_by_key) finds the same items.
	MemcachedStore sync(servers, std::chrono::milliseconds(1000));
	VersionedPair pair = sync.gets_with(anchor, key);
	REQUIRE(pair.first);
	REQUIRE(pair.second);
	CHECK(pair.second->value == "L1+F");
	CHECK(sync.append_with(anchor, key, "+G"));
	CHECK(with([&](Waiter &w) { f.store->gets_with(anchor, key, w); }).companion_value == "L1+F+G");

	// Many pairs in one loop turn: each answer carries its own companion.
	std::vector<Waiter> waiters(50);
	{
		Call c;
		for (std::size_t i = 0; i < waiters.size(); i++)
			f.store->gets_with(anchor, i % 2 == 0 ? key : "ag:k:absent", waiters[i]);
	}
	for (Waiter &w : waiters)
		REQUIRE(f.wait(w));
	for (std::size_t i = 0; i < waiters.size(); i++) {
		CHECK(waiters[i].ok());
		CHECK(waiters[i].status == S::hit);
		CHECK(waiters[i].companion_hit == (i % 2 == 0));
	}

	CHECK(with([&](Waiter &w) { f.store->remove_with(anchor, key, w); }).status == S::done);
	CHECK_FALSE(with([&](Waiter &w) { f.store->gets_with(anchor, key, w); }).companion_hit);
	CHECK_FALSE(sync.gets_with(anchor, key).second);
}

TEST_CASE("async-memcached: an expiry time in the past stores nothing visible")
{
	MemcachedProcess memcached;
	Fixture f(memcached.servers());
	Waiter w;
	{
		Call c;
		f.store->set("ag:h:old", "v", std::time(nullptr) - 10, w);
	}
	REQUIRE(f.wait(w));
	CHECK(w.status == S::stored);
	CHECK(f.gets("ag:h:old").status == S::miss);
	Waiter later;
	{
		Call c;
		f.store->set("ag:h:later", "v", std::time(nullptr) + 3600, later);
	}
	REQUIRE(f.wait(later));
	CHECK(f.gets("ag:h:later").status == S::hit);
}

TEST_CASE("async-memcached: after() answers done in time order, equal times in call order")
{
	MemcachedProcess memcached;
	Fixture f(memcached.servers());
	std::vector<std::string> order;
	Waiter a, b, c, d;
	a.then = [&] { order.push_back("a"); };
	b.then = [&] { order.push_back("b"); };
	c.then = [&] { order.push_back("c"); };
	d.then = [&] { order.push_back("d"); };
	f.after(60ms, a);
	f.after(20ms, b);
	f.after(20ms, c);
	f.after(0ms, d);
	CHECK(order.empty());
	// 0: on the next loop turn, without the clock moving.
	REQUIRE(f.loop.run_until([&] { return order.size() == 1; }));
	CHECK(order == std::vector<std::string>{"d"});
	// Each answered once its time has come on the store's clock, not before (the timer is
	// fired early on purpose: the hooks allow it).
	f.advance(19ms);
	f.loop.fire();
	CHECK(order.size() == 1);
	f.advance(1ms);
	REQUIRE(f.loop.run_until([&] { return order.size() == 3; }));
	f.advance(39ms);
	f.loop.fire();
	CHECK(order.size() == 3);
	f.advance(1ms);
	REQUIRE(f.loop.run_until([&] { return order.size() == 4; }));
	CHECK(order == std::vector<std::string>{"d", "b", "c", "a"});
	for (Waiter *w : {&a, &b, &c, &d}) {
		CHECK(w->ok());
		CHECK(w->status == S::done);
	}
	// Nothing left: the timer is off.
	CHECK_FALSE(f.loop.timer_at);
}

TEST_CASE("async-memcached: 2000 requests of one loop turn go out in a few writes")
{
	MemcachedProcess memcached;
	Fixture f(memcached.servers());
	constexpr int n = 1000;
	std::vector<Waiter> sets(n), reads(n);
	for (int i = 0; i < n; i++)
		f.set("ag:h:batch" + std::to_string(i), "value " + std::to_string(i), sets[i]);
	for (int i = 0; i < n; i++)
		f.gets("ag:h:batch" + std::to_string(i), reads[i]);
	// Nothing written inside the calls.
	CHECK(f.store->stats().writes == 0);
	for (const Waiter &w : sets)
		CHECK(w.answers == 0);
	REQUIRE(f.loop.run_until(all_answered(reads)));
	int good = 0;
	for (int i = 0; i < n; i++) {
		if (sets[i].ok() && sets[i].status == S::stored && reads[i].ok() &&
		    reads[i].status == S::hit && reads[i].value == "value " + std::to_string(i))
			good++;
	}
	CHECK(good == n);
	const auto &stats = f.store->stats();
	WARN("2000 requests: " << stats.writes << " writes, " << stats.reads << " reads, "
			       << f.loop.turns << " loop turns, " << f.loop.watch_calls
			       << " watch calls");
	CHECK(stats.requests == 2 * n);
	CHECK(stats.writes >= 1);
	CHECK(stats.writes <= 5);
	CHECK(stats.reads < 200);
	CHECK(f.loop.watch_calls < 10);
	CHECK(f.loop.redundant_watch_calls == 0);
}

TEST_CASE("async-memcached: requests made from answers are batched per loop turn too")
{
	MemcachedProcess memcached;
	Fixture f(memcached.servers());
	// 200 chains of gets -> add -> gets, each step made from the previous step's answer.
	constexpr int n = 200;
	struct Chain {
		Waiter first, second, third;
	};
	std::vector<Chain> chains(n);
	for (int i = 0; i < n; i++) {
		Chain &c = chains[i];
		const std::string key = "ag:h:chain" + std::to_string(i);
		c.first.then = [&f, &c, key] {
			CHECK(c.first.status == S::miss);
			f.store->compare_and_swap(key, "x", 0, 0, c.second);
		};
		c.second.then = [&f, &c, key] { f.store->gets(key, c.third); };
		f.gets(key, c.first);
	}
	REQUIRE(f.loop.run_until([&] {
		for (const Chain &c : chains)
			if (c.third.answers == 0)
				return false;
		return true;
	}));
	for (const Chain &c : chains) {
		CHECK(c.second.status == S::stored);
		CHECK(c.third.status == S::hit);
		CHECK(c.third.value == "x");
	}
	// memcached answers a pipeline in pieces, and each piece's answers make the next
	// requests: still several requests per write.
	WARN("600 chained requests: " << f.store->stats().writes << " writes");
	CHECK(f.store->stats().writes < 600 / 3);
}

TEST_CASE("async-memcached: keys are placed exactly as MemcachedStore places them")
{
	MemcachedProcess one, two, three;
	const std::vector<Server> servers{{"127.0.0.1", one.port()},
					  {"127.0.0.1", two.port()},
					  {"127.0.0.1", three.port()}};
	Fixture f(servers);
	MemcachedStore sync(servers, 500ms);
	REQUIRE(f.store->server_count() == 3);

	constexpr int n = 500;
	std::vector<Waiter> sets(n);
	std::vector<int> per_server(3);
	for (int i = 0; i < n; i++) {
		const std::string key = "ag:h:async" + std::to_string(i);
		per_server.at(f.store->server_of(key))++;
		f.set(key, "a" + std::to_string(i), sets[i]);
	}
	REQUIRE(f.loop.run_until(all_answered(sets)));
	int found = 0;
	for (int i = 0; i < n; i++) {
		CHECK(sets[i].ok());
		CHECK(sets[i].status == S::stored);
		auto got = sync.gets("ag:h:async" + std::to_string(i));
		if (got && got->value == "a" + std::to_string(i))
			found++;
	}
	CHECK(found == n);
	// Every server holds a share, so the agreement above means something.
	for (int count : per_server)
		CHECK(count > n / 10);

	for (int i = 0; i < n; i++)
		sync.set("ag:h:sync" + std::to_string(i), "s" + std::to_string(i), 0);
	std::vector<Waiter> reads(n);
	for (int i = 0; i < n; i++)
		f.gets("ag:h:sync" + std::to_string(i), reads[i]);
	REQUIRE(f.loop.run_until(all_answered(reads)));
	found = 0;
	for (int i = 0; i < n; i++)
		if (reads[i].status == S::hit && reads[i].value == "s" + std::to_string(i))
			found++;
	CHECK(found == n);

	int differ = 0;
	for (int i = 0; i < 200; i++) {
		const std::string a = "ag:h:x" + std::to_string(i), b = "ag:l:y" + std::to_string(i);
		if (f.store->same_server(a, b) != sync.same_server(a, b))
			differ++;
	}
	CHECK(differ == 0);
	// Each request went to its own server's connection: three connections in all.
	CHECK(f.store->stats().connects == 3);
}

TEST_CASE("async-memcached: host names and several addresses are tried in turn")
{
	MemcachedProcess memcached;
	// localhost may resolve to ::1 first, where nothing listens: the next address is tried.
	Fixture f({Server{"localhost", memcached.port()}});
	CHECK(f.set("ag:h:x", "v").status == S::stored);
	CHECK(f.gets("ag:h:x").value == "v");

	Fixture bad({Server{"no-such-host.invalid", memcached.port()}});
	Waiter w = bad.gets("ag:h:x");
	CHECK(w.status == S::failed);
	CHECK(w.error.find("cannot resolve") != std::string::npos);
}

TEST_CASE("async-memcached: names are resolved once, never again at a reconnect")
{
	MemcachedProcess memcached;
	Fixture f({Server{"localhost", memcached.port()}});
	f.store->resolve_servers();
	CHECK(f.store->stats().resolutions == 1);
	CHECK(f.set("ag:h:x", "v").status == S::stored);
	// memcached restarted on the same port: the connection is reopened to the kept address.
	memcached.stop();
	memcached.start();
	REQUIRE(memcached.pid() > 0);
	CHECK(f.set("ag:h:x", "w").status == S::stored);
	CHECK(f.store->stats().connects == 2);
	CHECK(f.store->stats().resolutions == 1);
}

TEST_CASE("async-memcached: an IPv6 server is reached")
{
	int listener = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
	sockaddr_in6 addr{};
	addr.sin6_family = AF_INET6;
	addr.sin6_addr = in6addr_loopback;
	if (listener < 0 || bind(listener, reinterpret_cast<sockaddr *>(&addr), sizeof(addr)) != 0) {
		if (listener >= 0)
			close(listener);
		// Catch2 2 has no skip: a silent return would count as a pass. Not testing this is
		// a decision the run states (a build chroot without ::1), never a default.
		if (std::getenv("AG_TEST_NO_IPV6") != nullptr) {
			WARN("AG_TEST_NO_IPV6 is set: the IPv6 server is NOT tested");
			return;
		}
		FAIL("no IPv6 loopback (::1) to test against; set AG_TEST_NO_IPV6=1 to run without this test");
	}
	REQUIRE(listen(listener, 4) == 0);
	socklen_t len = sizeof(addr);
	REQUIRE(getsockname(listener, reinterpret_cast<sockaddr *>(&addr), &len) == 0);
	std::thread thread([listener] {
		int fd = accept(listener, nullptr, nullptr);
		if (fd < 0)
			return;
		std::string request = read_request(fd);
		if (!request.empty())
			write_all(fd, response(0x00, 0, opaque_of(request), 42,
					       std::string(4, '\0'), "six"));
		read_request(fd);
		close(fd);
	});
	{
		Fixture f({Server{"::1", ntohs(addr.sin6_port)}});
		CHECK(f.store->servers_text() == "[::1]:" + std::to_string(ntohs(addr.sin6_port)));
		Waiter w = f.gets("ag:h:x");
		CHECK(w.status == S::hit);
		CHECK(w.value == "six");
		CHECK(w.cas == 42);
	}
	shutdown(listener, SHUT_RDWR);
	thread.join();
	close(listener);
}

TEST_CASE("async-memcached: destruction drops outstanding requests unanswered and unwatches")
{
	MemcachedProcess memcached;
	Loop loop;
	Waiter pending, timer, failing;
	{
		AsyncMemcached store(memcached.servers(), 500ms, loop.hooks(), 2s, loop.clock.function());
		loop.attach(&store);
		Waiter first;
		store.set("ag:h:x", "v", 0, first);
		REQUIRE(loop.run_until([&] { return first.answers > 0; }));
		store.gets("ag:h:x", pending);
		store.after(10ms, timer);
		store.gets(std::string(300, 'k'), failing);
		CHECK_FALSE(loop.watched.empty());
		CHECK(loop.timer_at);
	}
	loop.attach(nullptr);
	CHECK(loop.watched.empty());
	CHECK_FALSE(loop.timer_at);
	CHECK(pending.answers == 0);
	CHECK(timer.answers == 0);
	CHECK(failing.answers == 0);
}

TEST_CASE("async-memcached: invalid construction arguments are refused")
{
	Loop loop;
	const std::vector<Server> one{{"127.0.0.1", 11211}};
	CHECK_THROWS_AS(AsyncMemcached({}, 100ms, loop.hooks()), std::invalid_argument);
	CHECK_THROWS_AS(AsyncMemcached({{"", 11211}}, 100ms, loop.hooks()), std::invalid_argument);
	CHECK_THROWS_AS(AsyncMemcached({{"127.0.0.1", 0}}, 100ms, loop.hooks()),
			std::invalid_argument);
	CHECK_THROWS_AS(AsyncMemcached(one, 0ms, loop.hooks()), std::invalid_argument);
	CHECK_THROWS_AS(AsyncMemcached(one, 100ms, loop.hooks(), -1s), std::invalid_argument);
	CHECK_THROWS_AS(AsyncMemcached(one, 100ms, IoHooks{}), std::invalid_argument);
	// The constructor opens nothing.
	AsyncMemcached store(one, 100ms, loop.hooks());
	CHECK(loop.watch_calls == 0);
	CHECK(store.stats().connect_attempts == 0);
}
