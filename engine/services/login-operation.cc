#include "login-operation.hh"

#include "fingerprint.hh"
#include "keys.hh"
#include "lock-item.hh"
#include "text.hh"

#include <algorithm>
#include <iterator>
#include <random>

namespace account_guard {

std::optional<AccountRecord> read_account_record(std::string_view value, std::string_view user,
						 std::vector<Event> &events)
{
	auto record = decode(value);
	if (!record) {
		events.push_back(backend_failed(Level::warning, printable(user), "corrupt record",
						"stored account record is malformed (" +
							std::to_string(value.size()) +
							" bytes); starting from an empty record"));
	}
	return record;
}

std::optional<Lock> read_lock_item(std::string_view value, std::string_view user, std::vector<Event> &events)
{
	LockItem item = decode_lock(value);
	if (item.lock)
		return item.lock;
	if (!item.malformed)
		return std::nullopt; // a tombstone: only replicas hold those
	events.push_back(backend_failed(Level::warning, printable(user), "corrupt lock",
					"stored lock item is malformed (" + std::to_string(value.size()) +
						" bytes); the account stays locked until an administrator unlocks it"));
	return unreadable_lock();
}

std::chrono::microseconds backoff_delay(int attempt)
{
	// Measured: 8 processes writing one 100 KB record starve each other with a 2 ms cap.
	if (attempt < 1)
		return std::chrono::microseconds(0);
	thread_local std::minstd_rand rng{random_salt()};
	const long limit_us = std::min(20000L, 100L << std::min(attempt, 8));
	return std::chrono::microseconds(rng() % static_cast<unsigned long>(limit_us));
}

LoginOperation::LoginOperation(AsyncStore &store, std::string_view key_prefix, const Settings &settings,
			       const LoginInput &input, Done done)
	: store_(store), settings_(settings), input_(input), done_(std::move(done)),
	  key_prefix_(key_prefix)
{
}

void LoginOperation::start()
{
	key_ = account_key(key_prefix_, KeyKind::account, input_.user);
	lock_key_ = sibling_key(key_, key_prefix_, KeyKind::lock);
	read();
}

const std::string &LoginOperation::replica()
{
	if (!replica_)
		replica_ = lock_replica_key(store_, key_prefix_, key_, input_.user);
	return *replica_;
}

void LoginOperation::read()
{
	read_events_.clear();
	current_.reset();
	cas_ = 0;
	lock_.reset();
	restore_lock_ = false;
	replica_missing_ = false;
	stale_lock_ = false;
	step_ = Step::read;
	store_.gets_with(key_, lock_key_, *this);
}

void LoginOperation::on_reply(const StoreReply &reply)
{
	using Status = StoreReply::Status;
	switch (step_) {
	case Step::read:
		return after_read(reply);
	case Step::replica_after_miss:
		if (reply.status == Status::failed)
			return fail(reply.error);
		if (reply.status == Status::hit) {
			// Record and lock gone together: lost with their server, or evicted.
			LockItem item = decode_lock(reply.value);
			if (item.lock) {
				lock_ = std::move(item.lock);
				restore_lock_ = true;
			}
		}
		return decide();
	case Step::replica_after_failure: {
		// The account's server is gone: its lock, if any, must still hold.
		LockItem item;
		if (reply.status == Status::hit)
			item = decode_lock(reply.value);
		if (!item.lock)
			return fail(store_error_);
		AccountRecord locked;
		locked.lock = std::move(item.lock);
		LoginDecision d = decide_login(settings_, std::move(locked), input_);
		// A changed password lifts the lock only once the lock item can be deleted.
		if (d.unlocked_now)
			return fail(store_error_);
		LoginOutcome outcome;
		outcome.result.verdict = d.verdict;
		outcome.result.events = std::move(d.events);
		return finish(std::move(outcome));
	}
	case Step::replica_of_lock:
		return after_replica_of_lock(reply);
	case Step::add_lock:
		if (reply.status == Status::stored) {
			locked_by_us_ = decision_.locked_now;
			return after_lock_stored();
		}
		if (reply.status == Status::conflict) {
			// Locked by another node in the meantime (its incident), or, when restoring,
			// already back.
			if (decision_.locked_now)
				return retry_after_conflict();
			return succeed();
		}
		// Out of memory, or the server failed since the read: this login is refused all
		// the same; the next one decides again.
		report("lock", "the account is to be locked, but its lock could not be stored", reply.error);
		return succeed();
	case Step::write_replica:
		if (reply.status == Status::failed)
			report("lock replica", "the lock is stored, but its replica could not be", reply.error);
		if (decision_.locked_now)
			return write_record();
		if (decision_.learned_fingerprint) {
			step_ = Step::append_fingerprint;
			return store_.append_with(key_, lock_key_,
						  encode_lock_fingerprint(decision_.record.lock->salt,
									  decision_.record.lock->fingerprint),
						  *this);
		}
		return succeed();
	case Step::append_fingerprint:
		if (reply.status == Status::conflict)
			return retry_after_conflict(); // unlocked meanwhile
		if (reply.status == Status::failed)
			report("lock", "the lock's password fingerprint could not be stored", reply.error);
		return succeed();
	case Step::lift_replica:
		if (reply.status == Status::failed)
			report("lock replica", "the lock is lifted, but its replica could not be marked so", reply.error);
		step_ = Step::remove_lock;
		return store_.remove_with(key_, lock_key_, *this);
	case Step::remove_lock:
		if (reply.status == Status::failed)
			return fail(reply.error);
		return write_record();
	case Step::write:
		return after_write(reply);
	case Step::backoff:
		return read();
	}
}

void LoginOperation::after_read(const StoreReply &reply)
{
	using Status = StoreReply::Status;
	if (reply.status == Status::failed) {
		store_error_ = reply.error;
		if (replica().empty())
			return fail(store_error_);
		step_ = Step::replica_after_failure;
		return store_.gets(replica(), *this);
	}
	if (reply.status == Status::hit) {
		current_ = read_account_record(reply.value, input_.user, read_events_);
		cas_ = reply.cas;
	}
	if (reply.companion_hit)
		lock_ = read_lock_item(reply.companion_value, input_.user, read_events_);
	if (current_) {
		if (!lock_ && current_->lock) {
			// Written by an earlier version, which kept the lock in the record.
			lock_ = std::move(current_->lock);
			restore_lock_ = true;
		}
		current_->lock.reset();
		if (forget_history_) {
			current_->networks.clear();
			current_->countries.clear();
		}
	}
	if ((current_ && !lock_) || replica().empty())
		return decide(); // the common login: one read
	// Locked: the replica says whether an administrator lifted the lock while this server
	// was unreachable, and reading it keeps it from being evicted while the lock matters.
	// Neither item: expired (the usual case), or lost with their server; the replica tells.
	step_ = lock_ ? Step::replica_of_lock : Step::replica_after_miss;
	store_.gets(replica(), *this);
}

void LoginOperation::after_replica_of_lock(const StoreReply &reply)
{
	if (reply.status == StoreReply::Status::miss) {
		replica_missing_ = true;
	} else if (reply.status == StoreReply::Status::hit) {
		LockItem item = decode_lock(reply.value);
		if (item.lifted && *item.lifted >= lock_->since) {
			// Unlocked by an administrator (through the replica) after this lock was set:
			// the lock item is stale. As an unlock does, the history goes with it.
			stale_lock_ = true;
			forget_history_ = true;
			lock_.reset();
			restore_lock_ = false;
			if (current_) {
				current_->networks.clear();
				current_->countries.clear();
			}
		}
	}
	decide();
}

void LoginOperation::decide()
{
	std::optional<AccountRecord> state = std::move(current_);
	if (lock_) {
		if (!state)
			state.emplace();
		state->lock = lock_;
	}
	decision_ = decide_login(settings_, std::move(state), input_);
	if (stale_lock_) {
		decision_.write = true; // the history forgotten
		decision_.expires = record_expiry(settings_, input_.now);
		step_ = Step::remove_lock;
		return store_.remove_with(key_, lock_key_, *this);
	}
	if (decision_.unlocked_now) {
		forget_history_ = true;
		// The replica is marked lifted before the lock item goes, so that no login in
		// between can take a lock back from it.
		if (replica().empty()) {
			step_ = Step::remove_lock;
			return store_.remove_with(key_, lock_key_, *this);
		}
		step_ = Step::lift_replica;
		return store_.set(replica(), encode_lock_lifted(input_.now), 0, *this);
	}
	if (!decision_.record.lock)
		return write_record();
	if (decision_.locked_now || restore_lock_)
		return store_lock();
	// Locked, and stays locked: no write of the record at all.
	if (replica_missing_) {
		step_ = Step::write_replica;
		return store_.set(replica(), encode_lock(*decision_.record.lock), 0, *this);
	}
	if (decision_.learned_fingerprint) {
		step_ = Step::append_fingerprint;
		return store_.append_with(key_, lock_key_,
					  encode_lock_fingerprint(decision_.record.lock->salt,
								  decision_.record.lock->fingerprint),
					  *this);
	}
	succeed();
}

void LoginOperation::store_lock()
{
	step_ = Step::add_lock;
	store_.add_with(key_, lock_key_, encode_lock(*decision_.record.lock), 0, *this);
}

void LoginOperation::after_lock_stored()
{
	if ((decision_.locked_now || replica_missing_) && !replica().empty()) {
		step_ = Step::write_replica;
		return store_.set(replica(), encode_lock(*decision_.record.lock), 0, *this);
	}
	if (decision_.locked_now)
		return write_record();
	succeed();
}

void LoginOperation::write_record()
{
	if (!decision_.write)
		return succeed();
	step_ = Step::write;
	store_.compare_and_swap(key_, encode(decision_.record), cas_,
				static_cast<std::time_t>(decision_.expires), *this);
}

void LoginOperation::after_write(const StoreReply &reply)
{
	switch (reply.status) {
	case StoreReply::Status::stored:
		return succeed();
	case StoreReply::Status::conflict:
		// With the lock stored, the history is only evidence (the lock's reason holds it).
		if (locked_by_us_)
			return succeed();
		return retry_after_conflict();
	default:
		if (locked_by_us_) {
			report("lock", "the lock is stored, but the login history could not be", reply.error);
			return succeed();
		}
		return fail(reply.error);
	}
}

void LoginOperation::retry_after_conflict()
{
	// Another node wrote this account: decide again on its data. The clock is read only
	// now: races are rare, logins many.
	if (attempt_ == 0) {
		first_conflict_ = store_.now();
	} else if (store_.now() - first_conflict_ >= cas_retry_budget) {
		return fail("account record of " + printable(input_.user) + " kept changing during " +
			    std::to_string(std::chrono::seconds(cas_retry_budget).count()) +
			    " seconds of retries");
	}
	if (attempt_++ == 0)
		return read();
	step_ = Step::backoff;
	store_.after(backoff_delay(attempt_ - 1), *this);
}

void LoginOperation::report(const char *reason, std::string_view what, std::string_view error)
{
	// Reported, never a reason to change the verdict: a login read as locked stays refused.
	write_events_.push_back(backend_failed(Level::warning, printable(input_.user), reason,
					       std::string(what) + ": " + std::string(error)));
}

void LoginOperation::succeed()
{
	LoginOutcome outcome;
	LoginResult &result = outcome.result;
	result.verdict = decision_.verdict;
	result.events = std::move(read_events_);
	std::move(write_events_.begin(), write_events_.end(), std::back_inserter(result.events));
	if (locked_by_us_ && !settings_.notify.empty())
		result.notification = lock_notification(input_.user, *decision_.record.lock, decision_.record);
	if (result.events.empty())
		result.events = std::move(decision_.events); // the usual case: no copying
	else
		std::move(decision_.events.begin(), decision_.events.end(), std::back_inserter(result.events));
	finish(std::move(outcome));
}

void LoginOperation::fail(std::string_view error)
{
	LoginOutcome outcome;
	outcome.failed = true;
	outcome.error = error;
	finish(std::move(outcome));
}

void LoginOperation::finish(LoginOutcome &&outcome)
{
	// done_ may destroy this object: move it out first and touch nothing afterwards.
	Done done = std::move(done_);
	done(std::move(outcome));
}

} // namespace account_guard
