#pragma once
// The caller's side of AsyncMemcached for its tests: a waiter that records its answer, a small
// poll() loop standing in for Dovecot's ioloop, and a store on that loop (Fixture), all on a
// fake clock that only the test advances: timeouts, suspensions and after() happen when the
// test moves the clock past them, never because the machine was slow.

#include "async-memcached.hh"
#include "memcached-process.hh"

#include <catch2/catch.hpp>

#include <poll.h>

#include <algorithm>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace account_guard::test {

// The store's clock (AsyncMemcached's `now`). Starts well after the clock's epoch, so that
// no time the store computes from it is the epoch itself.
struct FakeClock {
	Clock::time_point t = Clock::time_point{} + 1000h;

	Clock::time_point now() const { return t; }
	void advance(Clock::duration d) { t += d; }
	AsyncMemcached::Now function() { return [this] { return t; }; }
};

// Set while the test is inside a call of the store: an answer then is a broken promise.
inline bool inside_call = false;

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
		if (then)
			then();
	}
	bool ok() const { return answers == 1 && !answered_inside_call; }
};

// The caller's event loop: poll() over the watched fds, and the one timer, on the fake clock:
// it is due when the test has advanced the clock to it (or at once, for 0 ms). poll() never
// waits for it.
class Loop {
public:
	IoHooks hooks()
	{
		return IoHooks{[this](int fd, unsigned events) { watch(fd, events); },
			       [this](int ms) { timer(ms); }};
	}
	void attach(AsyncMemcached *store) { store_ = store; }

	// One turn: waits up to `limit` (not at all if the timer is due) for I/O, dispatches it,
	// then fires the timer if it is due.
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
		if (timer_due())
			wait = 0ms;
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
		if (timer_due())
			fire();
	}

	// The timer fires now, due or not (the hook contract allows an early timer): what it
	// answers shows what is due on the store's clock.
	void fire()
	{
		timer_at.reset();
		store_->on_timer();
	}

	// Turns until `done` or `limit` (real time, a deadline for a failing test only) has
	// passed; whether `done`.
	bool run_until(const std::function<bool()> &done, std::chrono::milliseconds limit = 20000ms)
	{
		const auto end = Clock::now() + limit;
		while (!done() && Clock::now() < end)
			turn(std::chrono::ceil<std::chrono::milliseconds>(end - Clock::now()));
		return done();
	}

	FakeClock clock;
	std::map<int, unsigned> watched;
	std::optional<Clock::time_point> timer_at; // on `clock`
	int watch_calls = 0;
	int redundant_watch_calls = 0; // told what it already had: the hook contract says never
	int turns = 0;

private:
	bool timer_due() const { return timer_at && *timer_at <= clock.now(); }
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
			timer_at = clock.now() + std::chrono::milliseconds(ms);
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
		store = std::make_unique<AsyncMemcached>(servers, timeout, loop.hooks(), retry,
							 loop.clock.function());
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

	// Moves the store's clock on.
	void advance(Clock::duration d) { loop.clock.advance(d); }

	bool wait(Waiter &w, std::chrono::milliseconds limit = 20000ms)
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
inline std::function<bool()> all_answered(const std::vector<Waiter> &waiters)
{
	return [&waiters] {
		for (const Waiter &w : waiters)
			if (w.answers == 0)
				return false;
		return true;
	};
}

// A key that the store places on server `index`.
inline std::string key_on(AsyncMemcached &store, std::size_t index, const std::string &prefix = "ag:h:k")
{
	for (int i = 0;; i++) {
		std::string key = prefix + std::to_string(i);
		if (store.server_of(key) == index)
			return key;
		REQUIRE(i < 10000);
	}
}

} // namespace account_guard::test
