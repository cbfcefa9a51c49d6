#pragma once
// An AsyncStore over any synchronous Store: each call is carried out at once, its answer queued,
// and run() delivers the answers in order until none is left. The engine's synchronous callers
// (AccountService::login for doveadm, the tests, the benchmarks) drive the one asynchronous
// login implementation this way; a StoreError becomes a `failed` answer.

#include "async-store.hh"
#include "store.hh"

#include <deque>
#include <optional>
#include <functional>
#include <string>

namespace account_guard {

class SyncAsyncStore final : public AsyncStore {
public:
	using Now = std::function<std::chrono::steady_clock::time_point()>;

	// `wait` stands in for after()'s timer: it sleeps (or, in tests, advances a fake clock);
	// `now` is the clock it runs on.
	SyncAsyncStore(Store &store, std::function<void(std::chrono::microseconds)> wait,
		       Now now = std::chrono::steady_clock::now)
		: store_(store), wait_(std::move(wait)), now_(std::move(now)) {}

	void gets(std::string_view key, StoreWaiter &waiter) override;
	void compare_and_swap(std::string_view key, std::string_view value, std::uint64_t cas,
			      std::time_t expires, StoreWaiter &waiter) override;
	void set(std::string_view key, std::string_view value, std::time_t expires,
		 StoreWaiter &waiter) override;
	void remove(std::string_view key, StoreWaiter &waiter) override;
	void gets_with(std::string_view key, std::string_view companion, StoreWaiter &waiter) override;
	void add_with(std::string_view anchor, std::string_view key, std::string_view value,
		      std::time_t expires, StoreWaiter &waiter) override;
	void append_with(std::string_view anchor, std::string_view key, std::string_view value,
			 StoreWaiter &waiter) override;
	void remove_with(std::string_view anchor, std::string_view key, StoreWaiter &waiter) override;
	void after(std::chrono::microseconds delay, StoreWaiter &waiter) override;
	std::chrono::steady_clock::time_point now() override { return now_(); }
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
		std::optional<Versioned> companion; // gets_with
	};
	template <typename Operation>
	void answer(StoreWaiter &waiter, Operation &&operation);

	Store &store_;
	std::function<void(std::chrono::microseconds)> wait_;
	Now now_;
	std::deque<Answer> queue_;
};

} // namespace account_guard
