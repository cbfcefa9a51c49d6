#pragma once
// The production adapter of the Store port: a memcached cluster reached through libmemcached
// (binary protocol, consistent hashing over the server list, short timeouts).

#include "memcached-common.hh"
#include "settings.hh" // Server
#include "store.hh"

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

// libmemcached stays out of this header: only memcached-store.cc includes it.
struct memcached_st;
struct memcached_instance_st;

namespace account_guard {


// One connection per server, opened on first use (never in the constructor: the object is
// built in every process at start-up, also in those that never talk to memcached) and reopened
// by itself after an outage. Used by one thread at a time. Not to be carried across fork()
// once it has been used: parent and child would share the sockets.
//
// Every node of the cluster must be given the same server list, spelled the same way
// ("127.0.0.1" and "localhost" hash differently): consistent hashing places keys by the
// servers' names, so the list's order does not matter but its spelling does.
class MemcachedStore final : public Store {
public:
	// `timeout` bounds each wait of an operation (connecting, each poll for writing or
	// reading), so a blackholed or hung server costs about that long, a refused connection
	// almost nothing. After a refused or timed-out connect, or a request that timed out, the
	// server is skipped (calls for its keys throw at once) for `retry` (libmemcached counts
	// whole seconds: in effect between `retry` and `retry` + 1 s), then tried again.
	// A connection the server has closed meanwhile (memcached restarted) is reopened and the
	// request sent once more, so a restart costs no failed call.
	// Throws std::invalid_argument for an empty server list, an empty host, port 0, a
	// non-positive timeout or a negative retry.
	MemcachedStore(const std::vector<Server> &servers, std::chrono::milliseconds timeout,
		       std::chrono::seconds retry = std::chrono::seconds(2));
	~MemcachedStore() override;

	MemcachedStore(const MemcachedStore &) = delete;
	MemcachedStore &operator=(const MemcachedStore &) = delete;

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
	std::size_t server_count() const override { return server_count_; }

	// "host:port,host:port", as used in error messages.
	const std::string &servers_text() const { return servers_text_; }

private:
	struct Result;

	using SteadyTime = std::chrono::steady_clock::time_point;

	[[noreturn]] void fail(const char *operation, std::string_view key, int rc) const;
	// One multi-get of `count` keys, all placed with `anchor`, in one round trip;
	// on_result(key, value) for each hit.
	template <typename OnResult>
	void fetch(std::string_view anchor, const char *const *keys, const std::size_t *lengths,
		   std::size_t count, OnResult &&on_result);
	// Throws if the key's server is suspended after a timed-out request.
	void check_suspended(const char *operation, std::string_view key);
	// After an attempt that returned `rc`: true if it is to be sent once more because the
	// connection had been closed by the server; suspends the key's server after a timeout.
	bool again(int rc, std::string_view key, int &attempts);

	// Declared before result_ so that it is destroyed after it: a result frees its buffer
	// with the allocator of the memcached_st it was made from.
	MemcachedHandle memc_;
	// The buffer gets() fetches into, kept so that its value buffer is reused.
	std::unique_ptr<Result> result_;
	std::string servers_text_;
	std::size_t server_count_ = 0;
	std::chrono::seconds retry_;
	// Servers that answered a request too late, and until when their keys fail at once.
	// libmemcached only skips a server whose connect failed; one that accepts connections
	// but does not answer (stopped, overloaded, swapping) would cost the full timeout on
	// every call. Empty almost always, so checking it is free.
	std::vector<std::pair<const memcached_instance_st *, SteadyTime>> suspended_;
};

} // namespace account_guard
