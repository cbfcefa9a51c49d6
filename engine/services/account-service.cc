#include "account-service.hh"

#include "account-keys.hh"
#include "keys.hh"
#include "login-operation.hh"
#include "recipient-policy.hh"
#include "text.hh"

#include <algorithm>
#include <iterator>
#include <thread>

namespace account_guard {

namespace {

// Retries of the synchronous paths (rcpt, lock, unlock): the same budget as a login's.
constexpr auto retry_budget = cas_retry_budget;

// Attempts left while the budget lasts, on the service's clock.
class Retries {
public:
	explicit Retries(const AccountService::Now &now) : now_(now), start_(now()) {}
	bool another() const { return attempt_ == 0 || now_() - start_ < retry_budget; }
	int attempt() const { return attempt_; }
	void next() { attempt_++; }

private:
	const AccountService::Now &now_;
	std::chrono::steady_clock::time_point start_;
	int attempt_ = 0;
};

[[noreturn]] void kept_changing(std::string_view user)
{
	throw StoreError("account record of " + printable(user) + " kept changing during " +
			 std::to_string(std::chrono::seconds(retry_budget).count()) + " seconds of retries");
}

} // namespace

void AccountService::jittered_backoff(int attempt)
{
	std::this_thread::sleep_for(backoff_delay(attempt));
}

AccountService::Keys AccountService::keys(std::string_view user)
{
	Keys k;
	k.record = account_key(key_prefix_, KeyKind::account, user);
	k.lock = sibling_key(k.record, key_prefix_, KeyKind::lock);
	k.replica = lock_replica_key(store_, key_prefix_, k.record, user);
	return k;
}

std::optional<LockItem> AccountService::read_replica(const Keys &k)
{
	if (k.replica.empty())
		return std::nullopt;
	try {
		std::optional<Versioned> stored = store_.gets(k.replica);
		if (!stored)
			return std::nullopt;
		return decode_lock(stored->value);
	} catch (const StoreError &) {
		return std::nullopt;
	}
}

AccountService::Items AccountService::read_items(const Keys &k, std::string_view user,
						 std::vector<Event> &events)
{
	Items items;
	VersionedPair got = store_.gets_with(k.record, k.lock);
	if (got.first) {
		items.exists = true;
		items.cas = got.first->cas;
		items.record = read_account_record(got.first->value, user, events);
	}
	if (got.second)
		items.lock = read_lock_item(got.second->value, user, events);
	if (items.record) {
		if (!items.lock && items.record->lock)
			items.lock = std::move(items.record->lock); // written by an earlier version
		items.record->lock.reset();
	}
	if (items.lock) {
		std::optional<LockItem> replica = read_replica(k);
		if (replica && replica->lifted && *replica->lifted >= items.lock->since) {
			items.stale_lock = true;
			items.lock.reset();
		}
	} else if (!items.record) {
		// Both gone: expired, or lost with their server; the replica tells. A lock it holds
		// goes back into the lock item before anything writes a new record, which would
		// hide it from the next login (that reads the replica only when both are missing).
		if (std::optional<LockItem> replica = read_replica(k); replica && replica->lock) {
			items.lock = std::move(replica->lock);
			try {
				store_.add_with(k.record, k.lock, encode_lock(*items.lock), 0);
			} catch (const StoreError &e) {
				events.push_back(backend_failed(Level::warning, printable(user), "lock",
								std::string("the lock could not be restored from its replica: ") +
									e.what()));
			}
		}
	}
	return items;
}

void AccountService::write_replica(const Keys &k, const std::string &value, std::string_view user,
				   std::string_view what, std::vector<Event> &events)
{
	if (k.replica.empty())
		return;
	try {
		store_.set(k.replica, value, 0);
	} catch (const StoreError &e) {
		events.push_back(backend_failed(Level::warning, printable(user), "lock replica",
						std::string(what) + ": " + e.what()));
	}
}

LoginResult AccountService::login(const Settings &settings, const LoginInput &login)
{
	if (!login_needs_state(settings, login.service))
		return LoginResult{};
	// The one login implementation is the asynchronous one (the auth process's); here it
	// runs to completion over the synchronous store.
	waits_ = 0;
	std::optional<LoginOutcome> outcome;
	LoginOperation operation(sync_, key_prefix_, settings, login,
				 [&outcome](LoginOutcome &&o) { outcome = std::move(o); });
	operation.start();
	sync_.run();
	if (!outcome)
		throw std::logic_error("login operation ended without an outcome");
	if (outcome->failed)
		throw StoreError(outcome->error);
	return std::move(outcome->result);
}

RcptResult AccountService::rcpt(const Settings &settings, std::string_view user, std::uint32_t now,
				bool check_lock, unsigned count)
{
	count = std::max(count, 1U);
	const bool lock_check = check_lock && settings.lock_services.contains("submission");
	if (!lock_check && settings.recipient_limit.empty())
		return RcptResult{};
	const Keys k = keys(user);
	for (Retries retry(now_); retry.another(); retry.next()) {
		RcptResult result;
		Items items;
		try {
			items = read_items(k, user, result.events);
		} catch (const StoreError &) {
			// The account's server is gone: a lock its replica holds still refuses.
			std::optional<LockItem> replica = lock_check ? read_replica(k) : std::nullopt;
			if (!replica || !replica->lock)
				throw;
			items.lock = std::move(replica->lock);
		}
		std::optional<AccountRecord> state = std::move(items.record);
		if (items.lock) {
			if (!state)
				state.emplace();
			state->lock = items.lock;
		}
		RcptBatchDecision d = decide_rcpt_batch(settings, state, user, now, lock_check, count);
		std::move(d.events.begin(), d.events.end(), std::back_inserter(result.events));
		if (d.locked) {
			result.allowed = false;
			result.accepted = 0;
			result.locked = true;
			return result;
		}
		if (d.write && store_.compare_and_swap(k.record, encode(d.record), items.exists ? items.cas : 0,
						       static_cast<std::time_t>(d.expires)) == CasResult::conflict) {
			backoff_(retry.attempt());
			continue;
		}
		result.accepted = d.accepted;
		result.allowed = d.accepted == count;
		// A dry run refuses nothing, so there is no incident to mail about (the log has it).
		if (d.crossed && !settings.notify.empty()) {
			// One notification per account and window across the cluster: the first node
			// to add the marker sends it; the marker expires with the window. The history
			// comes from the read above.
			const std::string marker = account_key(key_prefix_, KeyKind::notified, user);
			if (store_.add(marker, "r", static_cast<std::time_t>(now + d.crossed->window))) {
				result.notification = recipient_notification(user, d.crossed->to_string(),
									     d.crossed_count, d.counts_at_refusal,
									     state ? &*state : nullptr);
			}
		}
		return result;
	}
	kept_changing(user);
}

AccountStatus AccountService::status(const Settings &settings, std::string_view user, std::uint32_t now)
{
	AccountStatus st;
	std::vector<Event> ignored;
	const Keys k = keys(user);
	Items items;
	try {
		items = read_items(k, user, ignored);
	} catch (const StoreError &) {
		// The account's server is unreachable; the replica, on another, still knows whether
		// the guard refuses it (history and counts are unknown meanwhile: left empty).
		std::optional<LockItem> replica = read_replica(k);
		if (!replica || (!replica->lock && !replica->lifted))
			throw;
		if (replica->lock) {
			st.locked = true;
			st.reason = replica->lock->reason;
			st.since = format_time_utc(replica->lock->since);
		}
		return st;
	}
	const AccountRecord record = items.record.value_or(AccountRecord{});
	st.recipients = format_recipient_counts(record.recipients, settings.recipient_limit, now);
	if (items.lock) {
		st.locked = true;
		st.reason = items.lock->reason;
		st.since = format_time_utc(items.lock->since);
	}
	if (!settings.ip_limit.empty())
		st.networks = list_networks(record.networks_within(now, settings.ip_limit.back().window));
	if (!settings.country_limit.empty())
		st.countries = list_countries(record.countries_within(now, settings.country_limit.back().window));
	return st;
}

std::vector<Event> AccountService::lock(std::string_view user, std::string_view reason, std::uint32_t now)
{
	const Keys k = keys(user);
	for (Retries retry(now_); retry.another(); retry.next()) {
		std::vector<Event> events;
		Items items = read_items(k, user, events);
		Event e;
		e.name = "account_guard_account_locked";
		e.level = Level::info;
		e.user = printable(user);
		if (items.lock) {
			e.reason = "already locked";
			e.message = "account already locked since " + format_time_utc(items.lock->since) + " (" +
				    printable(items.lock->reason) + ")";
			events.push_back(std::move(e));
			return events;
		}
		if (items.stale_lock)
			store_.remove_with(k.record, k.lock); // lifted through the replica meanwhile
		Lock lock;
		lock.since = now;
		lock.reason = reason.empty() ? "locked by administrator" : std::string(reason);
		// The password in use is unknown here; the next verified login appends it.
		const std::string value = encode_lock(lock);
		if (!store_.add_with(k.record, k.lock, value, 0)) {
			backoff_(retry.attempt()); // locked by someone else in between: say so
			continue;
		}
		e.reason = "administrator";
		e.message = "account locked by administrator: " + printable(lock.reason);
		events.push_back(std::move(e));
		write_replica(k, value, user, "the lock is stored, but its replica could not be", events);
		return events;
	}
	kept_changing(user);
}

std::vector<Event> AccountService::unlock(const Settings &settings, std::string_view user,
					  bool reset_recipients, std::uint32_t now)
{
	std::vector<Event> events;
	const Keys k = keys(user);
	Event e;
	e.name = "account_guard_account_unlocked";
	e.level = Level::info;
	e.user = printable(user);
	e.reason = "administrator";

	Items first; // as first read: the lock's evidence for the event
	try {
		first = read_items(k, user, events);
	} catch (const StoreError &error) {
		// The account's server is unreachable, and its replica may be refusing the account.
		// A tombstone on the replica lifts the lock: logins see it, and a login that finds
		// the old lock item once its server is back deletes it with the history.
		if (k.replica.empty())
			throw;
		store_.set(k.replica, encode_lock_lifted(now), 0);
		e.message = std::string("account unlocked by administrator through its lock replica (") +
			    error.what() + "); its recorded networks and countries are forgotten when its " +
			    "server answers again";
		if (reset_recipients) {
			e.message += "; recipient counts could not be reset";
		}
		events.push_back(std::move(e));
		return events;
	}
	// The replica is marked lifted before the lock item goes: no login in between can take
	// the lock back from it.
	if (first.lock || first.stale_lock)
		write_replica(k, encode_lock_lifted(now), user,
			      "the lock is lifted, but its replica could not be marked so", events);
	store_.remove_with(k.record, k.lock);

	// The login history goes; the recipient counts share the record and stay unless they are
	// reset too.
	bool done = false;
	std::optional<Versioned> stored =
		first.exists ? std::optional<Versioned>(Versioned{std::string(), first.cas}) : std::nullopt;
	std::optional<AccountRecord> current = first.record;
	for (Retries retry(now_); !done && retry.another(); retry.next()) {
		if (retry.attempt() > 0) {
			std::vector<Event> ignored;
			stored = store_.gets(k.record);
			current = stored ? read_account_record(stored->value, user, ignored) : std::nullopt;
		}
		AccountRecord kept;
		if (current && !reset_recipients) {
			kept.recipients = current->recipients;
			kept.recipients.keep_only(settings.recipient_limit);
		}
		if (kept.recipients.windows.empty()) {
			if (stored)
				store_.remove(k.record);
			done = true;
		} else if (store_.compare_and_swap(k.record, encode(kept), stored->cas,
						   static_cast<std::time_t>(record_expiry(settings, now))) ==
			   CasResult::conflict) {
			backoff_(retry.attempt());
		} else {
			done = true;
		}
	}
	if (!done)
		kept_changing(user);
	if (reset_recipients) {
		// A fresh start also means the next refusal is a new incident worth a mail.
		store_.remove(account_key(key_prefix_, KeyKind::notified, user));
	}
	if (first.lock) {
		e.message = "account unlocked by administrator (locked since " +
			    format_time_utc(first.lock->since) + ": " + printable(first.lock->reason) + ")";
		if (first.record)
			describe_evidence(e, *first.record);
	} else {
		e.level = Level::debug;
		e.message = "account was not locked; recorded history cleared";
	}
	if (reset_recipients)
		e.message += "; recipient counts reset";
	events.push_back(std::move(e));
	return events;
}

} // namespace account_guard
