#include "account-service.hh"

#include "fingerprint.hh"
#include "keys.hh"
#include "login-operation.hh"
#include "recipient-policy.hh"
#include "sync-async-store.hh"
#include "text.hh"

#include <algorithm>
#include <chrono>
#include <iterator>
#include <random>
#include <thread>

namespace account_guard {

namespace {

// Retries of the synchronous paths (rcpt, lock): the same budget as a login's.
constexpr auto retry_budget = cas_retry_budget;

// Attempts left while the budget lasts.
class Retries {
public:
	bool another() const { return attempt_ == 0 || std::chrono::steady_clock::now() - start_ < retry_budget; }
	int attempt() const { return attempt_; }
	void next() { attempt_++; }

private:
	std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
	int attempt_ = 0;
};

} // namespace

void AccountService::jittered_backoff(int attempt)
{
	std::this_thread::sleep_for(backoff_delay(attempt));
}

std::optional<AccountRecord> AccountService::read(const std::optional<Versioned> &stored,
						  std::string_view user, std::vector<Event> &events)
{
	if (!stored)
		return std::nullopt;
	return read_account_record(stored->value, user, events);
}

std::string AccountService::replica_key(const std::string &primary, std::string_view user)
{
	return lock_replica_key(store_, key_prefix_, primary, user);
}

std::optional<Lock> AccountService::read_replica(const std::string &replica, std::string_view user)
{
	if (replica.empty())
		return std::nullopt;
	std::vector<Event> ignored;
	auto record = read(store_.gets(replica), user, ignored);
	if (!record || !record->lock)
		return std::nullopt;
	return record->lock;
}

void AccountService::write_replica(const std::string &replica, const Lock &lock, std::string_view user,
				   std::vector<Event> &events)
{
	if (replica.empty())
		return;
	AccountRecord only_lock;
	only_lock.lock = lock;
	try {
		store_.set(replica, encode(only_lock), 0);
	} catch (const StoreError &e) {
		Event ev = backend_failed(Level::warning, printable(user), "lock replica",
						std::string("the lock is stored, but its replica could not be: ") + e.what());
		events.push_back(std::move(ev));
	}
}

void AccountService::remove_replica(const std::string &replica, std::string_view user,
				    std::vector<Event> &events)
{
	if (replica.empty())
		return;
	try {
		store_.remove(replica);
	} catch (const StoreError &e) {
		Event ev = backend_failed(Level::warning, printable(user), "lock replica",
						std::string("the lock is lifted, but its replica could not be removed: ") + e.what());
		events.push_back(std::move(ev));
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
	// One item holds the lock, the login history and the recipient counts: the lock check
	// comes with the read the counts need anyway.
	const std::string key = account_key(key_prefix_, KeyKind::account, user);
	const bool dry_run = settings.mode == Mode::log;
	for (Retries retry; retry.another(); retry.next()) {
		RcptResult result;
		auto stored = store_.gets(key);
		std::optional<AccountRecord> current = read(stored, user, result.events);
		if (!current) {
			// No record (or an unreadable one): as for a login, a lock replica tells an
			// expired record from one lost with its server, so that counting this recipient
			// cannot write a record that hides a lock from the next login.
			if (std::optional<Lock> lock = read_replica(replica_key(key, user), user)) {
				current = AccountRecord{};
				current->lock = *lock;
			}
		}
		if (lock_check && current && current->lock) {
			Event e;
			e.name = "account_guard_rcpt_refused";
			e.level = Level::info;
			e.user = printable(user);
			e.reason = "locked";
			e.message = std::string(dry_run ? "dry run: would refuse recipient: " : "recipient refused: ") +
				    "account locked since " + format_time_utc(current->lock->since) +
				    " (the session logged in before the lock)";
			result.events.push_back(std::move(e));
			if (!dry_run) {
				result.allowed = false;
				result.accepted = 0;
				result.locked = true;
				return result;
			}
		}
		result.accepted = count;
		if (settings.recipient_limit.empty())
			return result;
		// Each recipient decided on the record as the previous one left it; the first
		// refusal that crosses a limit is the one an incident mail is about.
		std::optional<AccountRecord> record = current;
		std::vector<Event> events;
		bool write = false;
		std::uint32_t expires = 0;
		unsigned accepted = 0;
		const Limit *crossed = nullptr;
		std::uint64_t crossed_count = 0;
		std::string counts_at_refusal;
		for (unsigned i = 0; i < count; i++) {
			RcptDecision d = decide_rcpt(settings, record, user, now);
			if (d.write) {
				write = true;
				expires = d.expires;
			}
			accepted += d.allowed ? 1 : 0;
			std::move(d.events.begin(), d.events.end(), std::back_inserter(events));
			if (crossed == nullptr && d.crossed != nullptr && !d.allowed) {
				crossed = d.crossed;
				crossed_count = d.count;
				counts_at_refusal = format_recipient_counts(d.record.recipients,
									    settings.recipient_limit, now);
			}
			record = std::move(d.record);
		}
		if (write && store_.compare_and_swap(key, encode(*record), stored ? stored->cas : 0,
						     static_cast<std::time_t>(expires)) == CasResult::conflict) {
			backoff_(retry.attempt());
			continue;
		}
		result.accepted = accepted;
		result.allowed = accepted == count;
		std::move(events.begin(), events.end(), std::back_inserter(result.events));
		// A dry run refuses nothing, so there is no incident to mail about (the log has it).
		if (crossed != nullptr && !settings.notify.empty()) {
			// One notification per account and window across the cluster: the first node
			// to add the marker sends it; the marker expires with the window. The history
			// comes from the read above: the same item.
			const std::string marker = account_key(key_prefix_, KeyKind::notified, user);
			if (store_.add(marker, "r", static_cast<std::time_t>(now + crossed->window))) {
				result.notification = recipient_notification(user, crossed->to_string(), crossed_count,
									     counts_at_refusal,
									     current ? &*current : nullptr);
			}
		}
		return result;
	}
	throw StoreError("account record of " + printable(user) + " kept changing during " +
			 std::to_string(std::chrono::seconds(retry_budget).count()) + " seconds of retries");
}

AccountStatus AccountService::status(const Settings &settings, std::string_view user, std::uint32_t now)
{
	AccountStatus st;
	std::vector<Event> ignored;
	const std::string key = account_key(key_prefix_, KeyKind::account, user);
	auto record = read(store_.gets(key), user, ignored);
	if (!record) {
		if (std::optional<Lock> lock = read_replica(replica_key(key, user), user)) {
			record = AccountRecord{};
			record->lock = *lock;
		} else {
			st.recipients = format_recipient_counts(RecipientRecord{}, settings.recipient_limit, now);
			return st;
		}
	}
	st.recipients = format_recipient_counts(record->recipients, settings.recipient_limit, now);
	if (record->lock) {
		st.locked = true;
		st.reason = record->lock->reason;
		st.since = format_time_utc(record->lock->since);
	}
	if (!settings.ip_limit.empty())
		st.networks = list_networks(record->networks_within(now, settings.ip_limit.back().window));
	if (!settings.country_limit.empty())
		st.countries = list_countries(record->countries_within(now, settings.country_limit.back().window));
	return st;
}

std::vector<Event> AccountService::lock(std::string_view user, std::string_view reason, std::uint32_t now)
{
	const std::string key = account_key(key_prefix_, KeyKind::account, user);
	for (Retries retry; retry.another(); retry.next()) {
		std::vector<Event> events;
		auto stored = store_.gets(key);
		AccountRecord record = read(stored, user, events).value_or(AccountRecord{});
		Event e;
		e.name = "account_guard_account_locked";
		e.level = Level::info;
		e.user = printable(user);
		if (record.lock) {
			e.reason = "already locked";
			e.message = "account already locked since " + format_time_utc(record.lock->since) + " (" +
				    printable(record.lock->reason) + ")";
			events.push_back(std::move(e));
			return events;
		}
		Lock lock;
		lock.since = now;
		lock.reason = reason.empty() ? "locked by administrator" : std::string(reason);
		// The password in use is unknown here; the next verified login supplies it.
		record.lock = lock;
		if (store_.compare_and_swap(key, encode(record), stored ? stored->cas : 0, 0) ==
		    CasResult::conflict) {
			backoff_(retry.attempt());
			continue;
		}
		e.reason = "administrator";
		e.message = "account locked by administrator: " + printable(lock.reason);
		events.push_back(std::move(e));
		write_replica(replica_key(key, user), lock, user, events);
		return events;
	}
	throw StoreError("account record of " + printable(user) + " kept changing");
}

std::vector<Event> AccountService::unlock(const Settings &settings, std::string_view user,
					  bool reset_recipients, std::uint32_t now)
{
	std::vector<Event> events;
	const std::string key = account_key(key_prefix_, KeyKind::account, user);
	std::optional<AccountRecord> record; // as first read: the lock's evidence for the event
	bool done = false;
	for (Retries retry; !done && retry.another(); retry.next()) {
		auto stored = store_.gets(key);
		std::vector<Event> ignored;
		std::optional<AccountRecord> current = read(stored, user, retry.attempt() == 0 ? events : ignored);
		if (retry.attempt() == 0) {
			record = current;
			// The replica goes first: a lock must never come back from it after an unlock.
			remove_replica(replica_key(key, user), user, events);
		}
		// The lock and the login history go; the recipient counts share the item and stay
		// unless they are reset too (INTERFACE.md §6).
		AccountRecord kept;
		if (current && !reset_recipients) {
			kept.recipients = current->recipients;
			kept.recipients.keep_only(settings.recipient_limit);
		}
		if (kept.recipients.windows.empty()) {
			if (stored)
				store_.remove(key);
			done = true;
		} else if (store_.compare_and_swap(key, encode(kept), stored->cas,
						   static_cast<std::time_t>(record_expiry(settings, now))) ==
			   CasResult::conflict) {
			backoff_(retry.attempt());
		} else {
			done = true;
		}
	}
	if (!done)
		throw StoreError("account record of " + printable(user) + " kept changing");
	if (reset_recipients) {
		// A fresh start also means the next refusal is a new incident worth a mail.
		store_.remove(account_key(key_prefix_, KeyKind::notified, user));
	}
	Event e;
	e.name = "account_guard_account_unlocked";
	e.level = Level::info;
	e.user = printable(user);
	e.reason = "administrator";
	if (record && record->lock) {
		e.message = "account unlocked by administrator (locked since " +
			    format_time_utc(record->lock->since) + ": " + printable(record->lock->reason) + ")";
		describe_evidence(e, *record);
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
