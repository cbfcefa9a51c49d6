#pragma once
// The store around the pure decisions: read the account record (one memcached item per
// account: lock, login history, recipient counts), decide, write it back with
// compare-and-swap, and retry on a conflict so that concurrent logins on different nodes
// never lose an entry and a lock is set exactly once. Throws StoreError when the store fails;
// the caller applies fail_mode.

#include "account-record.hh"
#include "event.hh"
#include "login-policy.hh"
#include "notification.hh"
#include "settings.hh"
#include "store.hh"
#include "sync-async-store.hh"

#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace account_guard {

struct LoginResult {
	Verdict verdict = Verdict::allow;
	std::vector<Event> events;
	std::optional<Notification> notification; // this login locked the account and notify is set
};

struct RcptResult {
	bool allowed = true;     // every recipient of the call was accepted
	unsigned accepted = 1;   // how many were: always the first ones (a refused one is not
				 // counted, so every later one in the same window is refused too)
	bool locked = false; // refused because the account is locked (check_lock)
	std::vector<Event> events;
	// The first refusal in a window, cluster-wide, with notify set.
	std::optional<Notification> notification;
};

struct AccountStatus {
	bool locked = false;
	std::string reason;
	std::string since;      // ISO 8601 UTC, empty if not locked
	std::string networks;   // within the longest ip window
	std::string countries;  // within the longest country window
	std::string recipients; // per window, e.g. "12/1h 40/24h"
};

class AccountService {
public:
	// backoff(attempt) runs after the attempt-th lost compare-and-swap race (from 0); the
	// default sleeps a little, tests pass a function that does not.
	AccountService(Store &store, std::string key_prefix,
		       std::function<void(int)> backoff = jittered_backoff)
		: store_(store), key_prefix_(std::move(key_prefix)), backoff_(std::move(backoff)),
		  sync_(store_, [this](std::chrono::microseconds) { backoff_(++waits_); }) {}

	// sync_'s wait function refers to this object.
	AccountService(const AccountService &) = delete;
	AccountService &operator=(const AccountService &) = delete;

	static void jittered_backoff(int attempt);

	// Budget: one read, plus one compare-and-swap when something changed (more only when
	// another node wrote the same account in between).
	LoginResult login(const Settings &settings, const LoginInput &login);

	// Budget: one read and one compare-and-swap of the account's one item; a refused
	// recipient costs one read (plus, the first time in a window, the notification marker).
	// check_lock (the submission glue: every RCPT): refuse if the account got locked after
	// this session logged in — free, the same read holds the lock. A missing record costs
	// one more read when there is a lock replica to consult (two or more servers).
	// `count` recipients of one session are decided in order with that one read and write
	// (pipelined RCPTs): the same verdicts as `count` calls, for the round trips of one.
	RcptResult rcpt(const Settings &settings, std::string_view user, std::uint32_t now,
			bool check_lock = false, unsigned count = 1);

	AccountStatus status(const Settings &settings, std::string_view user, std::uint32_t now);
	std::vector<Event> lock(std::string_view user, std::string_view reason, std::uint32_t now);
	// Lifts the lock and forgets the login history; the recipient counts stay (rewritten with
	// compare-and-swap, expiring as record_expiry() says) unless reset_recipients.
	std::vector<Event> unlock(const Settings &settings, std::string_view user, bool reset_recipients,
				  std::uint32_t now);

private:
	// The key of the lock replica: on a server other than `primary`'s, or empty when the
	// store has only one server.
	std::string replica_key(const std::string &primary, std::string_view user);
	// The lock held by the replica, if any.
	std::optional<Lock> read_replica(const std::string &replica, std::string_view user);
	// Writes / removes the replica; a failure is reported, never thrown: the primary record
	// already holds the truth, the replica only guards against losing its server.
	void write_replica(const std::string &replica, const Lock &lock, std::string_view user,
			   std::vector<Event> &events);
	void remove_replica(const std::string &replica, std::string_view user, std::vector<Event> &events);

	std::optional<AccountRecord> read(const std::optional<Versioned> &stored, std::string_view user,
					  std::vector<Event> &events);

	Store &store_;
	std::string key_prefix_;
	std::function<void(int)> backoff_;
	// login() runs the asynchronous login over this, kept so that its queue is not
	// allocated anew for every login; waits_ counts the login's backoffs.
	SyncAsyncStore sync_;
	int waits_ = 0;
};

} // namespace account_guard
