#pragma once
// One login, from the first read of the account's items to the verdict, as a state machine
// over the AsyncStore: read the record and the lock item in one round trip (and the lock
// replica when both are missing, their server is gone, or the account is locked), decide with
// the pure decide_login(), then store what changed: the history with compare-and-swap
// (deciding again on a lost race), a new lock with add, a learned fingerprint with append, a
// lifted lock with delete. A login read as locked is refused whatever these writes do.
// It never blocks: in the auth process every step is one request whose answer comes back
// through the ioloop, so one process serves thousands of logins at once over a handful of
// pipelined memcached connections.
// The synchronous AccountService::login() runs the same machine over SyncAsyncStore, so there
// is exactly one implementation of the login path.

#include "account-keys.hh"
#include "async-store.hh"
#include "outcomes.hh"
#include "settings.hh"

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
// The lock a lock item holds, or nothing (a replica's tombstone); an unreadable one is
// reported and still a lock (lock-item.hh).
std::optional<Lock> read_lock_item(std::string_view value, std::string_view user, std::vector<Event> &events);

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
	// the retry budget runs on the store's clock (AsyncStore::now).
	// `done` runs exactly once, never from inside start(), and may destroy the operation.
	LoginOperation(AsyncStore &store, std::string_view key_prefix, const Settings &settings,
		       const LoginInput &input, Done done);

	LoginOperation(const LoginOperation &) = delete;
	LoginOperation &operator=(const LoginOperation &) = delete;

	void start();

private:
	enum class Step {
		read,                  // gets_with: the account record and its lock item
		replica_after_miss,    // neither exists: does a lock replica say they were lost?
		replica_after_failure, // their server failed: does the replica hold a lock?
		replica_of_lock,       // locked: is the replica a tombstone, or missing?
		add_lock,              // this login locks the account (or restores a lock)
		write_replica,         // copy the lock to the replica
		append_fingerprint,    // the lock learns the password in use
		lift_replica,          // the password changed: tombstone on the replica first,
		remove_lock,           // then the lock item goes,
		write,                 // compare-and-swap of the record (history, counts)
		backoff,               // waiting after a lost race
	};

	void on_reply(const StoreReply &reply) override;
	void read();
	void after_read(const StoreReply &reply);
	void after_replica_of_lock(const StoreReply &reply);
	void decide();
	void store_lock();
	void write_record();
	void after_write(const StoreReply &reply);
	void retry_after_conflict();
	void after_lock_stored();
	void report(const char *reason, std::string_view what, std::string_view error);
	void succeed();
	void fail(std::string_view error);
	void finish(LoginOutcome &&outcome);
	const std::string &replica();

	AsyncStore &store_;
	const Settings &settings_;
	const LoginInput &input_;
	Done done_;
	std::string key_;
	std::string lock_key_;
	std::string key_prefix_;
	std::optional<std::string> replica_; // computed on first need: not on the common login
	Step step_ = Step::read;

	// The attempt in progress.
	std::vector<Event> read_events_;
	std::optional<AccountRecord> current_; // the record as read (its lock: lock_)
	std::uint64_t cas_ = 0; // of current_'s stored value; 0 when there was none
	std::optional<Lock> lock_; // the account's lock as read
	bool restore_lock_ = false;  // lock_ came from the replica or an old record: store it
	bool replica_missing_ = false; // locked, and the replica is gone: write it again
	bool stale_lock_ = false; // the replica says an administrator lifted lock_ meanwhile
	LoginDecision decision_;
	std::string store_error_; // the read failed with this

	// Across attempts.
	bool locked_by_us_ = false; // our add stored the lock: ours is the incident to notify
	bool forget_history_ = false; // the lock was lifted: a re-read starts without history
	std::vector<Event> write_events_; // writes that failed without changing the verdict
	int attempt_ = 0;
	std::chrono::steady_clock::time_point first_conflict_; // the retry budget counts from it
};

} // namespace account_guard
