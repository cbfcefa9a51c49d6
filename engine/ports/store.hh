#pragma once
// The state-store port: the few memcached operations the engine needs, nothing more.
// Adapters: MemcachedStore (production, libmemcached) and MemoryStore (unit tests only).

#include <cstdint>
#include <ctime>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

namespace account_guard {

// The store could not be reached or answered with an error. Expected outcomes (missing key,
// CAS conflict) are return values, never this exception.
class StoreError : public std::runtime_error {
public:
	using std::runtime_error::runtime_error;
};

// A value together with the version token that a later compare-and-swap must present.
struct Versioned {
	std::string value;
	std::uint64_t cas = 0;
};

// gets_with(): the key's item and its companion's.
struct VersionedPair {
	std::optional<Versioned> first;
	std::optional<Versioned> second;
};

enum class CasResult { stored, conflict };

class Store {
public:
	virtual ~Store() = default;

	// One round trip. std::nullopt when the key does not exist.
	virtual std::optional<Versioned> gets(std::string_view key) = 0;

	// Writes value only if the key still holds the version `cas` returned by gets(); with
	// cas == 0 only if the key does not exist (memcached `add`). One round trip.
	// `expires` is an absolute time (seconds since the epoch); 0 means never.
	virtual CasResult compare_and_swap(std::string_view key, std::string_view value,
					   std::uint64_t cas, std::time_t expires) = 0;

	// Unconditional write. One round trip.
	virtual void set(std::string_view key, std::string_view value, std::time_t expires) = 0;

	// Writes only if absent; false if the key already exists. One round trip.
	virtual bool add(std::string_view key, std::string_view value, std::time_t expires) = 0;

	// Deletes the key; a missing key is not an error. One round trip.
	virtual void remove(std::string_view key) = 0;

	// An account's lock lives in an item of its own, placed on the account record's server
	// (libmemcached's *_by_key, with the record's key as `anchor`), so that one round trip
	// reads both and no routine write of the record can touch it: memcached deletes an item
	// whose replacement it cannot store (out of memory), and the lock item is never
	// replaced, only added once, appended to and deleted.

	// `key` and `companion` (placed with `key`) in one round trip.
	virtual VersionedPair gets_with(std::string_view key, std::string_view companion) = 0;
	// As add(), for `key` placed with `anchor`.
	virtual bool add_with(std::string_view anchor, std::string_view key, std::string_view value,
			      std::time_t expires) = 0;
	// Appends to an existing item placed with `anchor`; false when there is none. A failed
	// append leaves the item as it was (memcached deletes only on a failed set).
	virtual bool append_with(std::string_view anchor, std::string_view key, std::string_view value) = 0;
	// As remove(), for `key` placed with `anchor`.
	virtual void remove_with(std::string_view anchor, std::string_view key) = 0;

	// Whether two keys live on the same server. Lock replicas are placed on a server other
	// than the account record's, so that losing any one server loses no lock; a store of
	// one server has nowhere else to put them (true). No I/O.
	virtual bool same_server(std::string_view a, std::string_view b) { (void)a; (void)b; return true; }
	virtual std::size_t server_count() const { return 1; }
};

} // namespace account_guard
