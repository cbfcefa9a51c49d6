#pragma once
// One login, from the first read of the account record to the verdict, as a state machine over
// the AsyncStore: read the record (and, when it is missing or its server is gone, the lock
// replica), decide with the pure decide_login(), write back with compare-and-swap and decide
// again on a lost race, keep the lock replica in step. It never blocks: in the auth process
// every step is one request whose answer comes back through the ioloop, so one process serves
// thousands of logins at once over a handful of pipelined memcached connections.
// The synchronous AccountService::login() runs the same machine over SyncAsyncStore, so there
// is exactly one implementation of the login path.

#include "account-service.hh"
#include "async-store.hh"
#include "keys.hh"

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace account_guard {

// What a login came to: a result, or a store failure for fail_mode to settle.
struct LoginOutcome {
	bool failed = false;
	std::string error; // failed: what failed (a StoreError's text)
	LoginResult result;
};

// The decoded record, or nothing; a stored value we cannot read is reported once (memcached
// values are untrusted input) and replaced by an empty record.
std::optional<AccountRecord> read_account_record(std::string_view value, std::string_view user,
						 std::vector<Event> &events);

// The key of an account's lock replica: on a server other than `primary`'s, or empty when
// the store has only one server. Placement is a hash of the key, so a handful of suffixes
// finds another server with near certainty.
template <typename AnyStore>
std::string lock_replica_key(AnyStore &store, std::string_view prefix, const std::string &primary,
			     std::string_view user);

// Losing compare-and-swap races is geometric: with n nodes writing one account, each attempt
// wins with a chance of about 1/n, so a fixed number of attempts starves someone sooner or
// later (measured: 64 attempts lost about 1 login in 4000 with 8 writers). Retry for up to this
// long instead; then give up and let fail_mode decide rather than hold the login.
constexpr std::chrono::seconds cas_retry_budget{2};

// How long the loser of a compare-and-swap race waits before its attempt-th retry (from 0):
// at once the first time, then a random while doubling from 100 us up to 20 ms, so that a
// burst of logins of one account on many nodes spreads out instead of colliding again.
std::chrono::microseconds backoff_delay(int attempt);

class LoginOperation final : private StoreWaiter {
public:
	using Done = std::function<void(LoginOutcome &&)>;

	// `settings`, `store` and the strings `input` points to must outlive the operation;
	// `done` runs exactly once, never from inside start(), and may destroy the operation.
	LoginOperation(AsyncStore &store, std::string_view key_prefix, const Settings &settings,
		       const LoginInput &input, Done done);

	LoginOperation(const LoginOperation &) = delete;
	LoginOperation &operator=(const LoginOperation &) = delete;

	void start();

private:
	enum class Step {
		read,                 // gets the account record
		replica_after_miss,   // record missing: does a lock replica say it was lost?
		replica_after_failure, // record's server failed: does its replica hold a lock?
		write,                // compare-and-swap of the decided record
		backoff,              // waiting after a lost race
		write_replica,        // this login locked the account: copy the lock
		remove_replica,       // this login lifted the lock (password changed)
	};

	void on_reply(const StoreReply &reply) override;
	void read();
	void decide();
	void after_write(const StoreReply &reply);
	void wrote(); // the decided record is stored (or nothing needed writing)
	void replica_done(const StoreReply &reply);
	void fail(std::string_view error);
	void finish(LoginOutcome &&outcome);
	const std::string &replica();

	AsyncStore &store_;
	const Settings &settings_;
	const LoginInput &input_;
	Done done_;
	std::string key_;
	std::string key_prefix_;
	std::optional<std::string> replica_; // computed on first need: not on the common login
	Step step_ = Step::read;

	// The attempt in progress.
	std::vector<Event> read_events_;
	std::optional<AccountRecord> current_;
	std::uint64_t cas_ = 0; // of current_'s stored value; 0 when there was none
	bool restored_ = false; // current_ holds only a lock taken from the replica
	bool had_lock_ = false; // current_ was locked (decide() moves current_ away)
	LoginDecision decision_;
	std::string store_error_; // the account record's read failed with this

	int attempt_ = 0;
	std::chrono::steady_clock::time_point first_conflict_; // the retry budget counts from it
};

template <typename AnyStore>
std::string lock_replica_key(AnyStore &store, std::string_view prefix, const std::string &primary,
			     std::string_view user)
{
	if (store.server_count() < 2)
		return std::string();
	const std::string base = account_key(prefix, KeyKind::lock, user);
	for (int i = 0; i < 32; i++) {
		std::string candidate = i == 0 ? base : base + "." + std::to_string(i);
		if (!store.same_server(primary, candidate))
			return candidate;
	}
	return std::string();
}

} // namespace account_guard
