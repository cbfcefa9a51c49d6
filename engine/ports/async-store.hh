#pragma once
// The state-store port for callers that must never block: the auth process serves every login
// of the node from one ioloop, so it sends a request and carries on with other logins until
// the answer is in. Same operations and meanings as Store (store.hh); answers arrive through
// a StoreWaiter. Adapters: AsyncMemcached (production: pipelined non-blocking memcached
// connections driven by the caller's event loop) and SyncAsyncStore (any Store, answered in
// order by a run loop: the engine's synchronous callers and the unit tests).

#include <chrono>
#include <cstdint>
#include <ctime>
#include <string_view>

namespace account_guard {

struct StoreReply {
	enum class Status {
		hit,      // gets: value and cas are set
		miss,     // gets: no such key
		stored,   // compare_and_swap / set: written
		conflict, // compare_and_swap: changed, deleted or (cas 0) already present
		done,     // remove (also when the key was missing), after
		failed,   // the store could not be reached or answered with an error: see error
	};
	Status status = Status::failed;
	std::string_view value; // hit; valid only during on_reply
	std::uint64_t cas = 0;  // hit
	std::string_view error; // failed: what failed, naming the operation, key and server;
				// valid only during on_reply
	// gets_with: the companion's item (status is the key's own). Valid only during on_reply.
	bool companion_hit = false;
	std::string_view companion_value;
	std::uint64_t companion_cas = 0;
};

// Whoever waits for an answer. It must outlive its outstanding request.
class StoreWaiter {
public:
	virtual void on_reply(const StoreReply &reply) = 0;

protected:
	~StoreWaiter() = default;
};

class AsyncStore {
public:
	virtual ~AsyncStore() = default;

	// Each call answers exactly once through waiter.on_reply, and never from inside the call
	// itself (also not an immediate failure): the caller may finish updating its own state
	// after the call. Key and value are copied before the call returns. A store being
	// destroyed drops its outstanding requests without answering them.

	// One round trip: hit / miss / failed.
	virtual void gets(std::string_view key, StoreWaiter &waiter) = 0;
	// As Store::compare_and_swap (cas 0 = add): stored / conflict / failed.
	virtual void compare_and_swap(std::string_view key, std::string_view value, std::uint64_t cas,
				      std::time_t expires, StoreWaiter &waiter) = 0;
	// Unconditional write: stored / failed.
	virtual void set(std::string_view key, std::string_view value, std::time_t expires,
			 StoreWaiter &waiter) = 0;
	// done (also for a missing key) / failed.
	virtual void remove(std::string_view key, StoreWaiter &waiter) = 0;
	// As Store's *_with (the lock item, placed with the account record): gets_with answers
	// hit / miss for `key` with the companion in companion_*, or failed; add_with stored /
	// conflict (present) / failed; append_with stored / conflict (absent) / failed;
	// remove_with done / failed.
	virtual void gets_with(std::string_view key, std::string_view companion, StoreWaiter &waiter) = 0;
	virtual void add_with(std::string_view anchor, std::string_view key, std::string_view value,
			      std::time_t expires, StoreWaiter &waiter) = 0;
	virtual void append_with(std::string_view anchor, std::string_view key, std::string_view value,
				 StoreWaiter &waiter) = 0;
	virtual void remove_with(std::string_view anchor, std::string_view key, StoreWaiter &waiter) = 0;
	// A timer (backing off after a lost compare-and-swap race): done after `delay`.
	virtual void after(std::chrono::microseconds delay, StoreWaiter &waiter) = 0;
	// The monotonic time after() runs on; retry budgets count on it (a test's fake clock).
	virtual std::chrono::steady_clock::time_point now() = 0;

	// As Store: placement is a pure function of the key and the server list, no I/O.
	virtual bool same_server(std::string_view a, std::string_view b) = 0;
	virtual std::size_t server_count() const = 0;
};

} // namespace account_guard
