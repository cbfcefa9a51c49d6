#include "login-operation.hh"

#include "fingerprint.hh"
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
	restored_ = false;
	step_ = Step::read;
	store_.gets(key_, *this);
}

void LoginOperation::on_reply(const StoreReply &reply)
{
	using Status = StoreReply::Status;
	switch (step_) {
	case Step::read:
		if (reply.status == Status::failed) {
			// The account record's server is gone: its lock, if any, must still hold.
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
		if (!current_ && !replica().empty()) {
			// No account record: expired (the usual case), or lost with its server or
			// to eviction. A lock replica tells the two apart.
			step_ = Step::replica_after_miss;
			return store_.gets(replica(), *this);
		}
		return decide();
	case Step::replica_after_miss: {
		if (reply.status == Status::failed)
			return fail(reply.error);
		std::vector<Event> ignored;
		std::optional<AccountRecord> replica_record;
		if (reply.status == Status::hit)
			replica_record = read_account_record(reply.value, input_.user, ignored);
		if (replica_record && replica_record->lock) {
			current_ = AccountRecord{};
			current_->lock = replica_record->lock;
			restored_ = true;
		}
		return decide();
	}
	case Step::replica_after_failure: {
		std::vector<Event> ignored;
		std::optional<AccountRecord> replica_record;
		if (reply.status == Status::hit)
			replica_record = read_account_record(reply.value, input_.user, ignored);
		if (!replica_record || !replica_record->lock)
			return fail(store_error_);
		AccountRecord locked;
		locked.lock = replica_record->lock;
		LoginDecision d = decide_login(settings_, std::move(locked), input_);
		// A changed password lifts the lock only once the record can be written.
		if (!d.record.lock)
			return fail(store_error_);
		LoginOutcome outcome;
		outcome.result.verdict = d.verdict;
		outcome.result.events = std::move(d.events);
		return finish(std::move(outcome));
	}
	case Step::write:
		return after_write(reply);
	case Step::backoff:
		return read();
	case Step::write_replica:
	case Step::remove_replica:
		return replica_done(reply);
	}
}

void LoginOperation::decide()
{
	had_lock_ = current_ && current_->lock;
	decision_ = decide_login(settings_, std::move(current_), input_);
	if (restored_ && decision_.record.lock && !decision_.write) {
		decision_.write = true; // put the lock back into the account record
		decision_.expires = 0;
	}
	if (!decision_.write)
		return wrote();
	step_ = Step::write;
	store_.compare_and_swap(key_, encode(decision_.record), cas_,
				static_cast<std::time_t>(decision_.expires), *this);
}

void LoginOperation::after_write(const StoreReply &reply)
{
	switch (reply.status) {
	case StoreReply::Status::stored:
		return wrote();
	case StoreReply::Status::conflict:
		// Another node wrote this account: decide again on its data. The clock is read
		// only now: races are rare, logins many.
		if (attempt_ == 0)
			first_conflict_ = std::chrono::steady_clock::now();
		else if (std::chrono::steady_clock::now() - first_conflict_ >= cas_retry_budget) {
			return fail("account record of " + printable(input_.user) + " kept changing during " +
				    std::to_string(std::chrono::seconds(cas_retry_budget).count()) +
				    " seconds of retries");
		}
		if (attempt_++ == 0)
			return read();
		step_ = Step::backoff;
		return store_.after(backoff_delay(attempt_ - 1), *this);
	default:
		return fail(reply.error);
	}
}

void LoginOperation::wrote()
{
	if (decision_.locked_now && !replica().empty()) {
		AccountRecord only_lock;
		only_lock.lock = decision_.record.lock;
		step_ = Step::write_replica;
		return store_.set(replica(), encode(only_lock), 0, *this);
	}
	if (had_lock_ && !decision_.record.lock && !replica().empty()) {
		step_ = Step::remove_replica;
		return store_.remove(replica(), *this);
	}
	replica_done(StoreReply{StoreReply::Status::done, {}, 0, {}});
}

void LoginOperation::replica_done(const StoreReply &reply)
{
	LoginOutcome outcome;
	LoginResult &result = outcome.result;
	result.verdict = decision_.verdict;
	result.events = std::move(read_events_);
	if (reply.status == StoreReply::Status::failed) {
		// The primary record already holds the truth; the replica only guards against
		// losing its server. Reported, never a reason to change the verdict.
		result.events.push_back(backend_failed(
			Level::warning, printable(input_.user), "lock replica",
			std::string(step_ == Step::write_replica
					    ? "the lock is stored, but its replica could not be: "
					    : "the lock is lifted, but its replica could not be removed: ") +
				std::string(reply.error)));
	}
	if (decision_.locked_now && !settings_.notify.empty())
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
