// AsyncMemcached against real memcached processes started on 127.0.0.1 by the test itself, and
// against fake servers (a loopback socket the test answers by hand) for what memcached never
// does: garbage, oversized frames, a server that drops every connection. A small poll() loop
// stands in for Dovecot's ioloop. Also the pure protocol encoder and parser.

#include "async-memcached.hh"
#include "memcached-protocol.hh"
#include "memcached-store.hh"
#include "memcached-process.hh"

#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

using namespace account_guard;
using namespace account_guard::test;
using namespace std::chrono_literals;
namespace proto = account_guard::memcached_protocol;

namespace {

// Set while the test is inside a call of the store: an answer then is a broken promise.
bool inside_call = false;

struct Call {
	Call() { inside_call = true; }
	~Call() { inside_call = false; }
};

struct Waiter final : StoreWaiter {
	int answers = 0;
	bool answered_inside_call = false;
	StoreReply::Status status = StoreReply::Status::failed;
	std::string value;
	std::uint64_t cas = 0;
	std::string error;
	bool companion_hit = false; // gets_with
	std::string companion_value;
	Clock::time_point when;
	std::function<void()> then; // runs inside on_reply

	void on_reply(const StoreReply &reply) override
	{
		answers++;
		answered_inside_call = answered_inside_call || inside_call;
		status = reply.status;
		value = std::string(reply.value);
		cas = reply.cas;
		error = std::string(reply.error);
		companion_hit = reply.companion_hit;
		companion_value = std::string(reply.companion_value);
		when = Clock::now();
		if (then)
			then();
	}
	bool ok() const { return answers == 1 && !answered_inside_call; }
};

// The caller's event loop: poll() over the watched fds and the one timer.
class Loop {
public:
	IoHooks hooks()
	{
		return IoHooks{[this](int fd, unsigned events) { watch(fd, events); },
			       [this](int ms) { timer(ms); }};
	}
	void attach(AsyncMemcached *store) { store_ = store; }

	// One turn: waits up to `limit` (less if the timer is due sooner), then dispatches.
	void turn(std::chrono::milliseconds limit = 1000ms)
	{
		turns++;
		std::vector<pollfd> fds;
		for (const auto &[fd, events] : watched)
			fds.push_back(pollfd{fd,
					     static_cast<short>(((events & io_read) ? POLLIN : 0) |
								((events & io_write) ? POLLOUT : 0)),
					     0});
		auto wait = limit;
		if (timer_at) {
			auto left = std::chrono::ceil<std::chrono::milliseconds>(*timer_at - Clock::now());
			wait = std::max(0ms, std::min(wait, left));
		}
		int n = poll(fds.data(), fds.size(), static_cast<int>(wait.count()));
		REQUIRE(n >= 0);
		for (const pollfd &p : fds) {
			if (p.revents == 0)
				continue;
			// An earlier callback of this turn may have closed (or reused) the fd.
			auto it = watched.find(p.fd);
			if (it == watched.end())
				continue;
			unsigned ready = 0;
			if (p.revents & (POLLIN | POLLERR | POLLHUP))
				ready |= io_read;
			if (p.revents & (POLLOUT | POLLERR | POLLHUP))
				ready |= io_write;
			ready &= it->second;
			if (ready != 0)
				store_->on_io(p.fd, ready);
		}
		if (timer_at && *timer_at <= Clock::now()) {
			timer_at.reset();
			store_->on_timer();
		}
	}

	// Turns until `done` or `limit` has passed; whether `done`.
	bool run_until(const std::function<bool()> &done, std::chrono::milliseconds limit = 5000ms)
	{
		const auto end = Clock::now() + limit;
		while (!done() && Clock::now() < end)
			turn(std::chrono::ceil<std::chrono::milliseconds>(end - Clock::now()));
		return done();
	}

	std::map<int, unsigned> watched;
	std::optional<Clock::time_point> timer_at;
	int watch_calls = 0;
	int redundant_watch_calls = 0; // told what it already had: the hook contract says never
	int turns = 0;

private:
	void watch(int fd, unsigned events)
	{
		watch_calls++;
		auto it = watched.find(fd);
		const unsigned had = it == watched.end() ? 0 : it->second;
		if (had == events)
			redundant_watch_calls++;
		if (events == 0)
			watched.erase(fd);
		else
			watched[fd] = events;
	}
	void timer(int ms)
	{
		REQUIRE(ms >= -1);
		if (ms < 0)
			timer_at.reset();
		else
			timer_at = Clock::now() + std::chrono::milliseconds(ms);
	}

	AsyncMemcached *store_ = nullptr;
};

// A loop and a store on it.
struct Fixture {
	Loop loop;
	std::unique_ptr<AsyncMemcached> store;

	Fixture(const std::vector<Server> &servers, std::chrono::milliseconds timeout = 500ms,
		std::chrono::seconds retry = 2s)
	{
		store = std::make_unique<AsyncMemcached>(servers, timeout, loop.hooks(), retry);
		loop.attach(store.get());
	}

	void gets(const std::string &key, Waiter &w) { Call c; store->gets(key, w); }
	void set(const std::string &key, const std::string &value, Waiter &w)
	{
		Call c;
		store->set(key, value, 0, w);
	}
	void cas(const std::string &key, const std::string &value, std::uint64_t cas, Waiter &w)
	{
		Call c;
		store->compare_and_swap(key, value, cas, 0, w);
	}
	void remove(const std::string &key, Waiter &w) { Call c; store->remove(key, w); }
	void after(std::chrono::microseconds delay, Waiter &w) { Call c; store->after(delay, w); }

	bool wait(Waiter &w, std::chrono::milliseconds limit = 5000ms)
	{
		return loop.run_until([&] { return w.answers > 0; }, limit);
	}
	// Each operation to its answer: never given inside the call, then given and successful.
	template <typename Call>
	Waiter answered(Call &&call)
	{
		Waiter w;
		call(w);
		CHECK(w.answers == 0);
		REQUIRE(wait(w));
		CHECK(w.ok());
		return w;
	}
	Waiter gets(const std::string &key)
	{
		return answered([&](Waiter &w) { gets(key, w); });
	}
	Waiter set(const std::string &key, const std::string &value)
	{
		return answered([&](Waiter &w) { set(key, value, w); });
	}
	Waiter cas(const std::string &key, const std::string &value, std::uint64_t c)
	{
		return answered([&](Waiter &w) { cas(key, value, c, w); });
	}
	Waiter remove(const std::string &key)
	{
		return answered([&](Waiter &w) { remove(key, w); });
	}
};

using S = StoreReply::Status;

// Whether every waiter has its answer (requests on different servers finish in any order).
std::function<bool()> all_answered(const std::vector<Waiter> &waiters)
{
	return [&waiters] {
		for (const Waiter &w : waiters)
			if (w.answers == 0)
				return false;
		return true;
	};
}

// A key that the store places on server `index`.
std::string key_on(AsyncMemcached &store, std::size_t index, const std::string &prefix = "ag:h:k")
{
	for (int i = 0;; i++) {
		std::string key = prefix + std::to_string(i);
		if (store.server_of(key) == index)
			return key;
		REQUIRE(i < 10000);
	}
}

// A listening socket on 127.0.0.1 that a thread serves by hand with `script(listener)`.
class FakeServer {
public:
	explicit FakeServer(std::function<void(int listener)> script)
	{
		listener_ = loopback_listener(16, port_);
		thread_ = std::thread([this, script] { script(listener_); });
	}
	~FakeServer()
	{
		// Wakes a thread blocked in accept().
		shutdown(listener_, SHUT_RDWR);
		thread_.join();
		close(listener_);
	}
	std::vector<Server> servers() const { return {Server{"127.0.0.1", port_}}; }
	std::uint16_t port() const { return port_; }

private:
	int listener_ = -1;
	std::uint16_t port_ = 0;
	std::thread thread_;
};

// Reads one whole request from a blocking socket; "" at end of file.
std::string read_request(int fd)
{
	std::string data;
	char buf[4096];
	while (true) {
		if (data.size() >= proto::header_size) {
			std::uint32_t body = 0;
			for (int i = 8; i < 12; i++)
				body = (body << 8) | static_cast<unsigned char>(data[i]);
			if (data.size() >= proto::header_size + body)
				return data;
		}
		ssize_t n = read(fd, buf, sizeof(buf));
		if (n <= 0)
			return "";
		data.append(buf, static_cast<std::size_t>(n));
	}
}

std::uint32_t opaque_of(const std::string &request)
{
	std::uint32_t v = 0;
	for (int i = 12; i < 16; i++)
		v = (v << 8) | static_cast<unsigned char>(request[i]);
	return v;
}

// A binary-protocol response.
std::string response(std::uint8_t opcode, std::uint16_t status, std::uint32_t opaque,
		     std::uint64_t cas = 0, const std::string &extras = "",
		     const std::string &value = "", std::uint32_t claimed_body = UINT32_MAX)
{
	std::string r;
	const std::uint32_t body = claimed_body != UINT32_MAX
					   ? claimed_body
					   : static_cast<std::uint32_t>(extras.size() + value.size());
	r.push_back(static_cast<char>(0x81));
	r.push_back(static_cast<char>(opcode));
	r.push_back(0);
	r.push_back(0);
	r.push_back(static_cast<char>(extras.size()));
	r.push_back(0);
	r.push_back(static_cast<char>(status >> 8));
	r.push_back(static_cast<char>(status));
	for (int s = 24; s >= 0; s -= 8)
		r.push_back(static_cast<char>(body >> s));
	for (int s = 24; s >= 0; s -= 8)
		r.push_back(static_cast<char>(opaque >> s));
	for (int s = 56; s >= 0; s -= 8)
		r.push_back(static_cast<char>(cas >> s));
	return r + extras + value;
}

void write_all(int fd, const std::string &data)
{
	std::size_t done = 0;
	while (done < data.size()) {
		ssize_t n = write(fd, data.data() + done, data.size() - done);
		if (n <= 0)
			return;
		done += static_cast<std::size_t>(n);
	}
}

} // namespace

// ---- the protocol, without sockets

TEST_CASE("memcached-protocol: requests are encoded as the binary protocol says")
{
	std::string out;
	proto::append_get(out, "key", 0x01020304);
	REQUIRE(out.size() == 27);
	CHECK(static_cast<unsigned char>(out[0]) == 0x80);
	CHECK(out[1] == 0x00);
	CHECK(out[2] == 0);
	CHECK(out[3] == 3);
	CHECK(out[11] == 3);
	CHECK(std::string(out, 12, 4) == std::string("\x01\x02\x03\x04", 4));
	CHECK(proto::request_key(out) == "key");
	CHECK(proto::request_opcode(out) == proto::op_get);

	out.clear();
	proto::append_store(out, proto::op_set, "k", std::string("v\0w", 3), 0x11223344,
			    0x0102030405060708ull, 9);
	REQUIRE(out.size() == 24 + 8 + 1 + 3);
	CHECK(out[1] == 0x01);
	CHECK(out[4] == 8);
	CHECK(out[11] == 12);
	CHECK(std::string(out, 16, 8) == "\x01\x02\x03\x04\x05\x06\x07\x08");
	CHECK(std::string(out, 24, 4) == std::string(4, '\0'));
	CHECK(std::string(out, 28, 4) == "\x11\x22\x33\x44");
	CHECK(proto::request_key(out) == "k");
	CHECK(std::string(out, 33) == std::string("v\0w", 3));

	out.clear();
	proto::append_delete(out, "gone", 1);
	CHECK(proto::request_opcode(out) == proto::op_delete);
	CHECK(proto::request_key(out) == "gone");
}

TEST_CASE("memcached-protocol: responses are framed, every prefix is incomplete")
{
	const std::string hit = response(0x00, 0, 77, 0xabcdef, std::string("\0\0\0\0", 4), "value");
	const std::string miss = response(0x00, 1, 78, 0, "", "Not found");
	const std::string both = hit + miss;
	proto::Response r;
	std::size_t consumed = 0;
	std::string error;
	for (std::size_t n = 0; n < hit.size(); n++)
		CHECK(proto::parse_response(std::string_view(both).substr(0, n), r, consumed, error) ==
		      proto::Parse::incomplete);
	REQUIRE(proto::parse_response(both, r, consumed, error) == proto::Parse::complete);
	CHECK(consumed == hit.size());
	CHECK(r.opaque == 77);
	CHECK(r.cas == 0xabcdef);
	CHECK(r.status == 0);
	CHECK(r.extras.size() == 4);
	CHECK(r.value == "value");
	REQUIRE(proto::parse_response(std::string_view(both).substr(consumed), r, consumed, error) ==
		proto::Parse::complete);
	CHECK(r.status == 1);
	CHECK(r.opaque == 78);
	CHECK(r.value == "Not found");
}

TEST_CASE("memcached-protocol: malformed responses are recognised")
{
	proto::Response r;
	std::size_t consumed = 0;
	std::string error;
	CHECK(proto::parse_response("HTTP/1.1 400 Bad Request\r\n", r, consumed, error) ==
	      proto::Parse::malformed);
	CHECK(error.find("magic") != std::string::npos);
	// Known at once from the first byte, without waiting for a header.
	CHECK(proto::parse_response("E", r, consumed, error) == proto::Parse::malformed);
	// A body longer than 1 MiB: refused from the header alone.
	CHECK(proto::parse_response(response(0, 0, 1, 0, "", "", 2u << 20), r, consumed, error) ==
	      proto::Parse::malformed);
	CHECK(error.find("body") != std::string::npos);
	// Extras longer than the body.
	CHECK(proto::parse_response(response(0, 0, 1, 0, "1234", "", 2), r, consumed, error) ==
	      proto::Parse::malformed);
	// A request's magic.
	std::string request;
	proto::append_get(request, "k", 1);
	CHECK(proto::parse_response(request, r, consumed, error) == proto::Parse::malformed);
}

// ---- against memcached

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
	const auto start = Clock::now();
	f.after(60ms, a);
	f.after(20ms, b);
	f.after(20ms, c);
	f.after(0ms, d);
	CHECK(order.empty());
	REQUIRE(f.loop.run_until([&] { return order.size() == 4; }));
	CHECK(order == std::vector<std::string>{"d", "b", "c", "a"});
	for (Waiter *w : {&a, &b, &c, &d}) {
		CHECK(w->ok());
		CHECK(w->status == S::done);
	}
	CHECK(b.when - start >= 20ms);
	CHECK(a.when - start >= 60ms);
	CHECK(a.when - start < 1000ms);
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

TEST_CASE("async-memcached: a refused connect fails soon, asynchronously, then fails fast")
{
	DeadPort dead;
	Fixture f({Server{"127.0.0.1", dead.port()}}, 500ms, 1s);
	const auto start = Clock::now();
	Waiter w = f.gets("ag:h:x");
	const double first_ms = ms_since(start);
	CHECK(w.status == S::failed);
	INFO(w.error);
	CHECK(w.error.rfind("memcached gets 'ag:h:x' failed: server 127.0.0.1:" +
				    std::to_string(dead.port()) + ": cannot connect: ",
			    0) == 0);
	CHECK(w.error.find("refused") != std::string::npos);
	CHECK(w.error.find(" [servers 127.0.0.1:" + std::to_string(dead.port()) + "]") !=
	      std::string::npos);
	CHECK(first_ms < 200);
	CHECK(f.store->stats().connect_attempts == 1);
	CHECK(f.loop.watched.empty());

	// Suspended: the next requests fail without a connect, still never inside the call.
	Waiter second = f.set("ag:h:x", "v");
	CHECK(second.status == S::failed);
	CHECK(second.error.find("memcached set 'ag:h:x' failed") == 0);
	CHECK(second.error.find("skipped for 1 s") != std::string::npos);
	CHECK(f.store->stats().connect_attempts == 1);

	// After the retry interval, a request tries again.
	std::this_thread::sleep_for(1100ms);
	Waiter third = f.gets("ag:h:x");
	CHECK(third.status == S::failed);
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
	CHECK(f.gets("ag:h:x").status == S::failed); // still skipped
	std::this_thread::sleep_for(1100ms);
	CHECK(f.gets("ag:h:x").status == S::miss);
	CHECK(f.set("ag:h:x", "v").status == S::stored);
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
	std::this_thread::sleep_for(50ms);
	const auto start = Clock::now();
	Waiter on_hung, on_good;
	f.gets(hung_key, on_hung);
	f.gets(good_key, on_good);
	REQUIRE(f.wait(on_good));
	const double good_ms = ms_since(start);
	CHECK(on_good.status == S::hit);
	CHECK(on_hung.answers == 0);
	REQUIRE(f.wait(on_hung));
	const double hung_ms = ms_since(start);
	WARN("hung server: its request failed after " << hung_ms << " ms, the other server's took "
						      << good_ms << " ms");
	CHECK(on_hung.ok());
	CHECK(on_hung.status == S::failed);
	CHECK(on_hung.error == "memcached gets '" + hung_key + "' failed: server 127.0.0.1:" +
				       std::to_string(hung.port()) +
				       " timed out; skipped for 1 s [servers " +
				       f.store->servers_text() + "]");
	CHECK(good_ms < 100);
	CHECK(hung_ms >= 145);
	CHECK(hung_ms < 600);
	CHECK(f.store->stats().timeouts == 1);

	// Suspended: its keys fail at once, the other's still work.
	const auto rest = Clock::now();
	Waiter again = f.gets(hung_key);
	CHECK(again.status == S::failed);
	CHECK(again.error.find("timed out; skipped for 1 s") != std::string::npos);
	CHECK(f.gets(good_key).status == S::hit);
	CHECK(ms_since(rest) < 100);

	hung.resume();
	std::this_thread::sleep_for(1100ms);
	// A new connection: the late answers on the old one cannot be taken for new ones.
	Waiter back = f.gets(hung_key);
	CHECK(back.status == S::hit);
	CHECK(back.value == "h");
	CHECK(f.store->stats().connects == 3);
}

TEST_CASE("async-memcached: a connect that is never answered fails after the timeout")
{
	UnansweredPort unanswered;

	{
		Fixture f({Server{"127.0.0.1", unanswered.port()}}, 100ms);
		const auto start = Clock::now();
		Waiter w = f.gets("ag:h:x");
		const double ms = ms_since(start);
		CHECK(w.status == S::failed);
		CHECK(w.error.find("timed out; skipped for 2 s") != std::string::npos);
		CHECK(ms >= 95);
		CHECK(ms < 600);
		CHECK(f.loop.watched.empty());
		CHECK(f.gets("ag:h:x").status == S::failed);
		CHECK(f.store->stats().connect_attempts == 1);
	}
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
		AsyncMemcached store(memcached.servers(), 500ms, loop.hooks());
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
