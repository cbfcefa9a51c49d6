#include "sync-async-store.hh"

namespace account_guard {

template <typename Operation>
void SyncAsyncStore::answer(StoreWaiter &waiter, Operation &&operation)
{
	Answer a{&waiter, StoreReply::Status::failed, std::string(), 0, std::nullopt};
	try {
		operation(a);
	} catch (const StoreError &e) {
		a.status = StoreReply::Status::failed;
		a.value = e.what();
	}
	queue_.push_back(std::move(a));
}

void SyncAsyncStore::gets(std::string_view key, StoreWaiter &waiter)
{
	answer(waiter, [&](Answer &a) {
		std::optional<Versioned> found = store_.gets(key);
		a.status = found ? StoreReply::Status::hit : StoreReply::Status::miss;
		if (found) {
			a.value = std::move(found->value);
			a.cas = found->cas;
		}
	});
}

void SyncAsyncStore::compare_and_swap(std::string_view key, std::string_view value, std::uint64_t cas,
				      std::time_t expires, StoreWaiter &waiter)
{
	answer(waiter, [&](Answer &a) {
		a.status = store_.compare_and_swap(key, value, cas, expires) == CasResult::stored
				   ? StoreReply::Status::stored
				   : StoreReply::Status::conflict;
	});
}

void SyncAsyncStore::set(std::string_view key, std::string_view value, std::time_t expires,
			 StoreWaiter &waiter)
{
	answer(waiter, [&](Answer &a) {
		store_.set(key, value, expires);
		a.status = StoreReply::Status::stored;
	});
}

void SyncAsyncStore::remove(std::string_view key, StoreWaiter &waiter)
{
	answer(waiter, [&](Answer &a) {
		store_.remove(key);
		a.status = StoreReply::Status::done;
	});
}

void SyncAsyncStore::gets_with(std::string_view key, std::string_view companion, StoreWaiter &waiter)
{
	answer(waiter, [&](Answer &a) {
		VersionedPair found = store_.gets_with(key, companion);
		a.status = found.first ? StoreReply::Status::hit : StoreReply::Status::miss;
		if (found.first) {
			a.value = std::move(found.first->value);
			a.cas = found.first->cas;
		}
		a.companion = std::move(found.second);
	});
}

void SyncAsyncStore::add_with(std::string_view anchor, std::string_view key, std::string_view value,
			      std::time_t expires, StoreWaiter &waiter)
{
	answer(waiter, [&](Answer &a) {
		a.status = store_.add_with(anchor, key, value, expires) ? StoreReply::Status::stored
									  : StoreReply::Status::conflict;
	});
}

void SyncAsyncStore::append_with(std::string_view anchor, std::string_view key, std::string_view value,
				 StoreWaiter &waiter)
{
	answer(waiter, [&](Answer &a) {
		a.status = store_.append_with(anchor, key, value) ? StoreReply::Status::stored
								  : StoreReply::Status::conflict;
	});
}

void SyncAsyncStore::remove_with(std::string_view anchor, std::string_view key, StoreWaiter &waiter)
{
	answer(waiter, [&](Answer &a) {
		store_.remove_with(anchor, key);
		a.status = StoreReply::Status::done;
	});
}

void SyncAsyncStore::after(std::chrono::microseconds delay, StoreWaiter &waiter)
{
	answer(waiter, [&](Answer &a) {
		wait_(delay);
		a.status = StoreReply::Status::done;
	});
}

void SyncAsyncStore::run()
{
	while (!queue_.empty()) {
		Answer a = std::move(queue_.front());
		queue_.pop_front();
		StoreReply reply;
		reply.status = a.status;
		reply.cas = a.cas;
		if (a.status == StoreReply::Status::failed)
			reply.error = a.value;
		else
			reply.value = a.value;
		if (a.companion) {
			reply.companion_hit = true;
			reply.companion_value = a.companion->value;
			reply.companion_cas = a.companion->cas;
		}
		a.waiter->on_reply(reply);
	}
}

} // namespace account_guard
