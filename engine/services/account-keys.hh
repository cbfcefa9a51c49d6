#pragma once
// The memcached keys of one account's items: the record, the lock item placed with it (on the
// record's server), and the lock's replica (on another server). Placement is a hash of the key,
// so a handful of suffixes finds another server with near certainty.

#include "keys.hh"

#include <string>
#include <string_view>

namespace account_guard {

// The key of an account's lock replica: on a server other than `record`'s, or empty when the
// store has only one server (there is nowhere else to put it).
template <typename AnyStore>
std::string lock_replica_key(AnyStore &store, std::string_view prefix, const std::string &record,
			     std::string_view user)
{
	if (store.server_count() < 2)
		return std::string();
	const std::string base = account_key(prefix, KeyKind::lock_replica, user);
	for (int i = 0; i < 32; i++) {
		std::string candidate = i == 0 ? base : base + "." + std::to_string(i);
		if (!store.same_server(record, candidate))
			return candidate;
	}
	return std::string();
}

} // namespace account_guard
