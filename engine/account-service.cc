#include "account-service.hh"

#include "fingerprint.hh"
#include "keys.hh"
#include "recipient-policy.hh"
#include "text.hh"

#include <algorithm>
#include <chrono>
#include <random>
#include <thread>

namespace account_guard {

namespace {

// Losing compare-and-swap races is geometric: with n nodes writing one account, each
// attempt wins with a chance of about 1/n, so a fixed number of attempts starves someone
// sooner or later (measured: 64 attempts lost about 1 login in 4000 with 8 writers). Retry
// for up to this long instead; then give up and let fail_mode decide rather than stall a
// worker.
constexpr auto retry_budget = std::chrono::seconds(2);

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
	// Losers of a compare-and-swap race retry at once the first time; after that they wait a
	// random while, doubling from 100 us up to 20 ms, so that a burst of logins of one
	// account on many nodes spreads out instead of colliding again in lockstep (measured:
	// 8 processes writing one 100 KB record starve each other with a 2 ms cap).
	if (attempt < 1)
		return;
	thread_local std::minstd_rand rng{random_salt()};
	long limit_us = std::min(20000L, 100L << std::min(attempt, 8));
	std::this_thread::sleep_for(std::chrono::microseconds(rng() % static_cast<unsigned long>(limit_us)));
}

namespace {

} // namespace

std::optional<AccountRecord> AccountService::read(const std::optional<Versioned> &stored,
						  std::string_view user, std::vector<Event> &events)
{
	if (!stored)
		return std::nullopt;
	auto record = decode(stored->value);
	if (!record) {
		// memcached values are untrusted input: a record we cannot read is replaced, and
		// said so once per occurrence.
		events.push_back(backend_failed(Level::warning, printable(user), "corrupt record",
						"stored account record is malformed (" +
							std::to_string(stored->value.size()) +
							" bytes); starting from an empty record"));
	}
	return record;
}

std::string AccountService::replica_key(const std::string &primary, std::string_view user)
{
	if (store_.server_count() < 2)
		return std::string();
	const std::string base = account_key(key_prefix_, KeyKind::lock, user);
	// Placement is a hash of the key: a handful of suffixes finds another server with
	// near certainty when there is one.
	for (int i = 0; i < 32; i++) {
		std::string candidate = i == 0 ? base : base + "." + std::to_string(i);
		if (!store_.same_server(primary, candidate))
			return candidate;
	}
	return std::string();
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
	LoginResult result;
	if (!login_needs_state(settings, login.service))
		return result;
	const std::string key = account_key(key_prefix_, KeyKind::account, login.user);
	// Needed only when the record is missing or a lock is set or lifted: not on the common
	// login, which must stay one read.
	std::optional<std::string> replica_cache;
	auto replica = [&]() -> const std::string & {
		if (!replica_cache)
			replica_cache = replica_key(key, login.user);
		return *replica_cache;
	};
	for (Retries retry; retry.another(); retry.next()) {
		std::vector<Event> read_events;
		std::optional<Versioned> stored;
		try {
			stored = store_.gets(key);
		} catch (const StoreError &) {
			// The account record's server is gone: its lock, if any, must still hold.
			std::optional<Lock> lock = read_replica(replica(), login.user);
			if (!lock)
				throw;
			AccountRecord locked;
			locked.lock = *lock;
			LoginDecision d = decide_login(settings, locked, login);
			if (d.record.lock) {
				result.verdict = d.verdict;
				result.events = std::move(d.events);
				return result;
			}
			throw; // a changed password lifts the lock once the record can be written
		}
		auto current = read(stored, login.user, read_events);
		bool restored = false;
		if (!current) {
			// No account record: expired (the usual case), or lost with its server or to
			// eviction. A lock replica tells the two apart.
			if (std::optional<Lock> lock = read_replica(replica(), login.user)) {
				current = AccountRecord{};
				current->lock = *lock;
				restored = true;
			}
		}
		LoginDecision d = decide_login(settings, current, login);
		if (restored && d.record.lock && !d.write) {
			d.write = true; // put the lock back into the account record
			d.expires = 0;
		}
		if (d.write) {
			CasResult r = store_.compare_and_swap(key, encode(d.record), stored ? stored->cas : 0,
							      static_cast<std::time_t>(d.expires));
			if (r == CasResult::conflict) {
				backoff_(retry.attempt()); // another node wrote this account: decide again on its data
				continue;
			}
		}
		result.verdict = d.verdict;
		result.events = std::move(read_events);
		if (d.locked_now) {
			write_replica(replica(), *d.record.lock, login.user, result.events);
			if (!settings.notify.empty())
				result.notification = lock_notification(login.user, *d.record.lock, d.record);
		} else if (current && current->lock && !d.record.lock) {
			remove_replica(replica(), login.user, result.events);
		}
		for (Event &e : d.events)
			result.events.push_back(std::move(e));
		return result;
	}
	throw StoreError("account record of " + printable(login.user) + " kept changing during " +
			 std::to_string(std::chrono::seconds(retry_budget).count()) + " seconds of retries");
}

RcptResult AccountService::rcpt(const Settings &settings, std::string_view user, std::uint32_t now,
				bool check_lock)
{
	RcptResult result;
	if (check_lock && settings.lock_services.contains("submission")) {
		std::vector<Event> ignored;
		const std::string key = account_key(key_prefix_, KeyKind::account, user);
		auto record = read(store_.gets(key), user, ignored);
		if (record && record->lock) {
			const bool dry_run = settings.mode == Mode::log;
			Event e;
			e.name = "account_guard_rcpt_refused";
			e.level = Level::info;
			e.user = printable(user);
			e.reason = "locked";
			e.message = std::string(dry_run ? "dry run: would refuse recipient: " : "recipient refused: ") +
				    "account locked since " + format_time_utc(record->lock->since) +
				    " (the session logged in before the lock)";
			result.events.push_back(std::move(e));
			if (!dry_run) {
				result.allowed = false;
				result.locked = true;
				return result;
			}
		}
	}
	if (settings.recipient_limit.empty())
		return result;
	const std::string key = account_key(key_prefix_, KeyKind::recipients, user);
	for (Retries retry; retry.another(); retry.next()) {
		auto stored = store_.gets(key);
		std::optional<RecipientRecord> current;
		if (stored) {
			current = decode_recipients(stored->value);
			if (!current) {
				result.events.push_back(backend_failed(Level::warning, printable(user), "corrupt record",
								       "stored recipient counts are malformed; starting from zero"));
			}
		}
		RcptDecision d = decide_rcpt(settings, current, user, now);
		if (d.write && store_.compare_and_swap(key, encode(d.record), stored ? stored->cas : 0,
						       static_cast<std::time_t>(d.expires)) == CasResult::conflict) {
			result.events.clear();
			backoff_(retry.attempt());
			continue;
		}
		result.allowed = d.allowed;
		for (Event &e : d.events)
			result.events.push_back(std::move(e));
		// A dry run refuses nothing, so there is no incident to mail about (the log has it).
		if (d.crossed && !d.allowed && !settings.notify.empty()) {
			// One notification per account and window across the cluster: the first node
			// to add the marker sends it; the marker expires with the window.
			const std::string marker = account_key(key_prefix_, KeyKind::notified, user);
			if (store_.add(marker, "r", static_cast<std::time_t>(now + d.crossed->window))) {
				std::vector<Event> ignored;
				auto history = read(store_.gets(account_key(key_prefix_, KeyKind::account, user)),
						    user, ignored);
				result.notification = recipient_notification(
					user, d.crossed->to_string(), d.count,
					format_recipient_counts(d.record, settings.recipient_limit, now),
					history ? &*history : nullptr);
			}
		}
		return result;
	}
	throw StoreError("recipient counts of " + printable(user) + " kept changing during " +
			 std::to_string(std::chrono::seconds(retry_budget).count()) + " seconds of retries");
}

AccountStatus AccountService::status(const Settings &settings, std::string_view user, std::uint32_t now)
{
	AccountStatus st;
	std::vector<Event> ignored;
	auto counts = store_.gets(account_key(key_prefix_, KeyKind::recipients, user));
	std::optional<RecipientRecord> recipients;
	if (counts)
		recipients = decode_recipients(counts->value);
	st.recipients = format_recipient_counts(recipients.value_or(RecipientRecord{}), settings.recipient_limit, now);
	const std::string key = account_key(key_prefix_, KeyKind::account, user);
	auto record = read(store_.gets(key), user, ignored);
	if (!record) {
		if (std::optional<Lock> lock = read_replica(replica_key(key, user), user)) {
			record = AccountRecord{};
			record->lock = *lock;
		} else {
			return st;
		}
	}
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

std::vector<Event> AccountService::unlock(std::string_view user, bool reset_recipients)
{
	std::vector<Event> events;
	const std::string key = account_key(key_prefix_, KeyKind::account, user);
	auto record = read(store_.gets(key), user, events);
	// The replica goes first: a lock must never come back from it after an unlock.
	remove_replica(replica_key(key, user), user, events);
	store_.remove(key);
	if (reset_recipients) {
		store_.remove(account_key(key_prefix_, KeyKind::recipients, user));
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
