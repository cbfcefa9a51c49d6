#include "memory-store.hh"

namespace account_guard {

void MemoryStore::check_available()
{
	operations_++;
	if (unavailable_)
		throw StoreError("memory store: unavailable (simulated outage)");
}

void MemoryStore::check_available(std::string_view key)
{
	check_server(server_of(key));
}

void MemoryStore::check_server(unsigned int server)
{
	check_available();
	if (down_[server])
		throw StoreError("memory store: server " + std::to_string(server) + " down (simulated)");
}

void MemoryStore::check_memory(std::string_view key, bool unlink)
{
	if (!full_)
		return;
	if (unlink) {
		last_ = nullptr;
		items_.erase(key_buffer(key));
	}
	throw StoreError("memory store: SERVER_ERROR out of memory storing object (simulated)");
}

void MemoryStore::store(std::string_view key, std::string_view value, std::time_t expires,
			unsigned int server)
{
	items_[std::string(key)] = Item{std::string(value), next_cas_++, expires, server};
}

unsigned int MemoryStore::server_of(std::string_view key) const
{
	if (servers_ == 1)
		return 0; // no hashing: the engine benchmark measures the engine, not this store
	return static_cast<unsigned int>(std::hash<std::string_view>{}(key) % servers_);
}

bool MemoryStore::same_server(std::string_view a, std::string_view b)
{
	return server_of(a) == server_of(b);
}

void MemoryStore::wipe_server(unsigned int server)
{
	last_ = nullptr;
	for (auto it = items_.begin(); it != items_.end();) {
		if (it->second.server == server)
			it = items_.erase(it);
		else
			++it;
	}
}

const std::string &MemoryStore::key_buffer(std::string_view key)
{
	key_buffer_.assign(key.data(), key.size());
	return key_buffer_;
}

MemoryStore::Item *MemoryStore::find_live(std::string_view key)
{
	auto it = items_.end();
	if (last_ == nullptr || last_->first != key) {
		it = items_.find(key_buffer(key));
		if (it == items_.end())
			return nullptr;
		last_ = &*it;
	}
	if (last_->second.expires != 0 && last_->second.expires <= clock_()) {
		// By iterator (the key lives in the node); the one just found needs no second lookup.
		items_.erase(it != items_.end() ? it : items_.find(last_->first));
		last_ = nullptr;
		return nullptr;
	}
	return &last_->second;
}

std::optional<Versioned> MemoryStore::gets(std::string_view key)
{
	check_available(key);
	Item *item = find_live(key);
	if (item == nullptr)
		return std::nullopt;
	return Versioned{item->value, item->cas};
}

CasResult MemoryStore::compare_and_swap(std::string_view key, std::string_view value,
					std::uint64_t cas, std::time_t expires)
{
	if (before_cas_) {
		auto hook = std::move(before_cas_);
		hook();
	}
	check_available(key);
	Item *item = find_live(key);
	if (cas == 0) {
		if (item != nullptr)
			return CasResult::conflict;
	} else if (item == nullptr || item->cas != cas) {
		return CasResult::conflict;
	}
	check_memory(key, item != nullptr);
	if (item != nullptr) {
		// In place: no second lookup, and the value's buffer is reused.
		item->value.assign(value.data(), value.size());
		item->cas = next_cas_++;
		item->expires = expires;
	} else {
		store(key, value, expires, server_of(key));
	}
	return CasResult::stored;
}

void MemoryStore::set(std::string_view key, std::string_view value, std::time_t expires)
{
	check_available(key);
	check_memory(key, true);
	store(key, value, expires, server_of(key));
}

bool MemoryStore::add(std::string_view key, std::string_view value, std::time_t expires)
{
	return add_with(key, key, value, expires);
}

void MemoryStore::remove(std::string_view key)
{
	remove_with(key, key);
}

VersionedPair MemoryStore::gets_with(std::string_view key, std::string_view companion)
{
	check_available(key);
	VersionedPair found;
	if (Item *item = find_live(key))
		found.first = Versioned{item->value, item->cas};
	if (Item *item = find_live(companion))
		found.second = Versioned{item->value, item->cas};
	return found;
}

bool MemoryStore::add_with(std::string_view anchor, std::string_view key, std::string_view value,
			   std::time_t expires)
{
	check_available(anchor);
	if (find_live(key) != nullptr)
		return false;
	check_memory(key, false);
	store(key, value, expires, server_of(anchor));
	return true;
}

bool MemoryStore::append_with(std::string_view anchor, std::string_view key, std::string_view value)
{
	check_available(anchor);
	Item *item = find_live(key);
	if (item == nullptr)
		return false;
	check_memory(key, false);
	item->value.append(value.data(), value.size());
	item->cas = next_cas_++;
	return true;
}

void MemoryStore::remove_with(std::string_view anchor, std::string_view key)
{
	check_available(anchor);
	last_ = nullptr;
	items_.erase(key_buffer(key));
}

std::optional<std::time_t> MemoryStore::expiry_of(std::string_view key) const
{
	auto it = items_.find(std::string(key));
	if (it == items_.end())
		return std::nullopt;
	return it->second.expires;
}

} // namespace account_guard
