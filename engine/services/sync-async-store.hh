#pragma once
// An AsyncStore over any synchronous Store: each call is carried out at once, its answer queued,
// and run() delivers the answers in order until none is left. The engine's synchronous callers
// (AccountService::login for doveadm, the tests, the benchmarks) drive the one asynchronous
// login implementation this way; a StoreError becomes a `failed` answer.

#include "async-store.hh"
#include "store.hh"

#include <deque>
#include <functional>
#include <string>

namespace account_guard {

class SyncAsyncStore final : public AsyncStore {
public:
	// `wait` stands in for after()'s timer: it sleeps (or, in tests, returns at once).
	SyncAsyncStore(Store &store, std::function<void(std::chrono::microseconds)> wait)
		: store_(store), wait_(std::move(wait)) {}

	void gets(std::string_view key, StoreWaiter &waiter) override;
	void compare_and_swap(std::string_view key, std::string_view value, std::uint64_t cas,
			      std::time_t expires, StoreWaiter &waiter) override;
	void set(std::string_view key, std::string_view value, std::time_t expires,
		 StoreWaiter &waiter) override;
	void remove(std::string_view key, StoreWaiter &waiter) override;
	void after(std::chrono::microseconds delay, StoreWaiter &waiter) override;
	bool same_server(std::string_view a, std::string_view b) override { return store_.same_server(a, b); }
	std::size_t server_count() const override { return store_.server_count(); }

	// Delivers queued answers (and those their waiters cause) until none is left.
	void run();

private:
	struct Answer {
		StoreWaiter *waiter;
		StoreReply::Status status;
		std::string value; // hit: the value; failed: the error
		std::uint64_t cas = 0;
	};
	template <typename Operation>
	void answer(StoreWaiter &waiter, Operation &&operation);

	Store &store_;
	std::function<void(std::chrono::microseconds)> wait_;
	std::deque<Answer> queue_;
};

} // namespace account_guard
