#pragma once
// memcached keys: "<prefix><kind>:<digest of the username>". Fixed length, printable, so any
// username (1 KB, spaces, control bytes, invalid UTF-8) maps to a valid key, and the key
// reveals nothing about the user to someone listing the cache.

#include <string>
#include <string_view>

namespace account_guard {

enum class KeyKind : char {
	account = 'a',      // AccountRecord: login history + recipient counters
	// 'r' held the recipient counters until record format 2 moved them into 'a'; not reused.
	notified = 'n',     // notification de-duplication marker
	lock = 'k',         // the lock item (lock-item.hh), placed on the account record's server
	lock_replica = 'l', // its replica, on another server than the account record
};

std::string account_key(std::string_view prefix, KeyKind kind, std::string_view user);

// The key of another kind for the same user, from one made by account_key() with `prefix`:
// the digest is not computed again (every login needs the record's and the lock item's key).
std::string sibling_key(std::string_view key, std::string_view prefix, KeyKind kind);

} // namespace account_guard
