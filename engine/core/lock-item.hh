#pragma once
// An account's lock, stored as an item of its own (KeyKind::lock, placed on the account
// record's server) and copied to a replica on another server (KeyKind::lock_replica). It is
// written with `add` (the first locker wins, an existing lock is never overwritten), grows
// only by `append` (the password fingerprint an administrator's lock learns at the next
// login) and goes only with `delete`: none of these makes memcached drop it when it is out
// of memory, unlike the set that rewrites the account record on every login.
//
// Layout (little-endian): u8 'L', u32 since, varint reason length, reason, then zero or more
// fingerprint entries of 7 bytes: u8 'F', u32 salt, u16 fingerprint. The first entry is the
// lock's fingerprint (a lock set by a login carries it from the start; an administrator's
// gets it appended later; entries appended after the first by racing logins are ignored).
// A replica may instead hold u8 'U', u32 time: the lock was lifted by an administrator at that
// time while the account's own server was unreachable, so a lock item that server still
// holds from before is stale.

#include "account-record.hh"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace account_guard {

struct LockItem {
	std::optional<Lock> lock;            // 'L'
	std::optional<std::uint32_t> lifted; // 'U': lifted at this time
	bool malformed = false;              // neither: unreadable bytes
};

std::string encode_lock(const Lock &lock);
// What append adds to an administrator's lock once a login supplies the password.
std::string encode_lock_fingerprint(std::uint32_t salt, std::uint16_t fingerprint);
std::string encode_lock_lifted(std::uint32_t at);
// Untrusted input: anything malformed yields `malformed`, never a crash.
LockItem decode_lock(std::string_view data);

// A lock item that cannot be read still stands for a lock: a lock is never lost to a bad
// value, and only an administrator's unlock (which deletes whatever is there) lifts it.
Lock unreadable_lock();

} // namespace account_guard
