#pragma once
// An in-memory Store for unit tests, benchmarks and account-guard-replay's private state (never
// used by the Dovecot modules): same semantics as memcached for what the engine uses, expiry
// against the caller's clock (a test's fake clock, the replayed events' time), and switches to
// simulate an outage or a concurrent writer.

#include "store.hh"

#include <functional>
#include <unordered_map>
#include <vector>

namespace account_guard {

class MemoryStore : public Store {
public:
	// `servers` simulates a cluster: keys are spread over that many servers, each of which a
	// test can take down or wipe (a restart).
	explicit MemoryStore(std::function<std::time_t()> clock, unsigned int servers = 1)
		: clock_(std::move(clock)), servers_(servers), down_(servers, false) { items_.max_load_factor(0.5f); }

	std::optional<Versioned> gets(std::string_view key) override;
	CasResult compare_and_swap(std::string_view key, std::string_view value, std::uint64_t cas,
				   std::time_t expires) override;
	void set(std::string_view key, std::string_view value, std::time_t expires) override;
	bool add(std::string_view key, std::string_view value, std::time_t expires) override;
	void remove(std::string_view key) override;
	VersionedPair gets_with(std::string_view key, std::string_view companion) override;
	bool add_with(std::string_view anchor, std::string_view key, std::string_view value,
		      std::time_t expires) override;
	bool append_with(std::string_view anchor, std::string_view key, std::string_view value) override;
	void remove_with(std::string_view anchor, std::string_view key) override;
	bool same_server(std::string_view a, std::string_view b) override;
	std::size_t server_count() const override { return servers_; }

	unsigned int server_of(std::string_view key) const;
	// Calls for keys on a down server throw StoreError.
	void set_server_down(unsigned int server, bool down) { down_.at(server) = down; }
	// Forgets every key on that server, as a memcached restart does.
	void wipe_server(unsigned int server);

	// Out of memory, as memcached run with -M when full: every write that needs memory
	// throws StoreError, and a set or compare-and-swap of an existing key also deletes it
	// (memcached unlinks an item whose replacement it cannot store); an append leaves its
	// item as it was; reads and deletes work.
	void set_full(bool full) { full_ = full; }

	// Every call throws StoreError while unavailable.
	void set_unavailable(bool unavailable) { unavailable_ = unavailable; }
	// Runs before each compare_and_swap: lets a test write in between, as another node would.
	void set_before_cas(std::function<void()> hook) { before_cas_ = std::move(hook); }

	std::size_t operations() const { return operations_; }
	std::size_t size() const { return items_.size(); }
	std::optional<std::time_t> expiry_of(std::string_view key) const;

private:
	struct Item {
		std::string value;
		std::uint64_t cas;
		std::time_t expires;
		unsigned int server; // of the key, or of its anchor (*_with)
	};
	void store(std::string_view key, std::string_view value, std::time_t expires, unsigned int server);
	// Full: throws, after deleting `key` if `unlink` (a failed set).
	void check_memory(std::string_view key, bool unlink);
	Item *find_live(std::string_view key);
	void check_available(std::string_view key);
	void check_server(unsigned int server);
	// Lookups reuse this buffer: the engine benchmark measures the engine, not malloc.
	const std::string &key_buffer(std::string_view key);
	void check_available();

	std::function<std::time_t()> clock_;
	std::unordered_map<std::string, Item> items_;
	// The item found last: a login's compare_and_swap follows its gets on the same key, and
	// finds it here without a second hash lookup. Pointers into an unordered_map survive
	// rehashing; every erase resets it.
	std::pair<const std::string, Item> *last_ = nullptr;
	std::string key_buffer_;
	std::uint64_t next_cas_ = 1;
	bool unavailable_ = false;
	bool full_ = false;
	unsigned int servers_;
	std::vector<bool> down_;
	std::function<void()> before_cas_;
	std::size_t operations_ = 0;
};

} // namespace account_guard
