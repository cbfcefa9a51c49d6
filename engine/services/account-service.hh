#pragma once
// The store around the pure decisions: read the account's items (the record — login history,
// recipient counts — and the lock item placed with it, in one round trip), decide, write the
// record back with compare-and-swap and retry on a conflict so that concurrent logins on
// different nodes never lose an entry; the lock is added once, appended to and deleted, never
// rewritten (lock-item.hh). Throws StoreError when the store fails; the caller applies fail_mode.

#include "account-record.hh"
#include "event.hh"
#include "login-policy.hh"
#include "outcomes.hh"
#include "lock-item.hh"
#include "settings.hh"
#include "store.hh"
#include "sync-async-store.hh"

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace account_guard {

class AccountService {
public:
	using Now = std::function<std::chrono::steady_clock::time_point()>;

	// backoff(attempt) runs after the attempt-th lost compare-and-swap race (from 0); the
	// default sleeps a little, tests pass a function that advances their clock. The retry
	// budgets run on `now`.
	AccountService(Store &store, std::string key_prefix,
		       std::function<void(int)> backoff = jittered_backoff,
		       Now now = std::chrono::steady_clock::now)
		: store_(store), key_prefix_(std::move(key_prefix)), backoff_(std::move(backoff)),
		  now_(std::move(now)),
		  sync_(store_, [this](std::chrono::microseconds) { backoff_(++waits_); }, now_) {}

	// sync_'s wait function refers to this object.
	AccountService(const AccountService &) = delete;
	AccountService &operator=(const AccountService &) = delete;

	static void jittered_backoff(int attempt);

	// Budget: one read (record and lock item together), plus one write when something
	// changed (more only when another node wrote the same account in between).
	LoginResult login(const Settings &settings, const LoginInput &login);

	// Budget: one read and one compare-and-swap of the account record; a refused recipient
	// costs one read (plus, the first time in a window, the notification marker).
	// check_lock (the submission glue: every RCPT): refuse if the account got locked after
	// this session logged in — free, the same read holds the lock item. A missing record and
	// lock cost one more read when there is a lock replica to consult (two or more servers),
	// and so does a locked account.
	// `count` recipients of one session are decided in order with that one read and write
	// (pipelined RCPTs, decide_rcpt_batch): the same verdicts as `count` calls.
	RcptResult rcpt(const Settings &settings, std::string_view user, std::uint32_t now,
			bool check_lock = false, unsigned count = 1);

	// With the account's server unreachable, the replica still tells whether it is locked.
	AccountStatus status(const Settings &settings, std::string_view user, std::uint32_t now);
	// Locks with add: an existing lock (its time, reason, fingerprint) is never replaced.
	std::vector<Event> lock(std::string_view user, std::string_view reason, std::uint32_t now);
	// Lifts the lock and forgets the login history; the recipient counts stay (rewritten with
	// compare-and-swap, expiring as record_expiry() says) unless reset_recipients. With the
	// account's server unreachable, the lock is lifted through its replica.
	std::vector<Event> unlock(const Settings &settings, std::string_view user, bool reset_recipients,
				  std::uint32_t now);

private:
	struct Keys {
		std::string record;
		std::string lock;
		std::string replica; // empty with one server
	};
	// One account's items as read.
	struct Items {
		bool exists = false;       // the record's item
		std::uint64_t cas = 0;     // of the record's item
		std::optional<AccountRecord> record; // its lock is always empty: see `lock`
		std::optional<Lock> lock;  // from the lock item, an old record, or the replica
		bool stale_lock = false;   // the replica says the lock item's lock was lifted
	};

	Keys keys(std::string_view user);
	// Reads the record and the lock item; the replica too when both are missing or the
	// account is locked (like a login). Throws StoreError.
	Items read_items(const Keys &keys, std::string_view user, std::vector<Event> &events);
	// The replica's item, or nothing (also when it cannot be read).
	std::optional<LockItem> read_replica(const Keys &keys);
	// A replica failure is reported, never thrown: the lock item holds the truth, the
	// replica only guards against losing its server.
	void write_replica(const Keys &keys, const std::string &value, std::string_view user,
			   std::string_view what, std::vector<Event> &events);

	Store &store_;
	std::string key_prefix_;
	std::function<void(int)> backoff_;
	Now now_;
	// login() runs the asynchronous login over this, kept so that its queue is not
	// allocated anew for every login; waits_ counts the login's backoffs.
	SyncAsyncStore sync_;
	int waits_ = 0;
};

} // namespace account_guard
