#include "lock-item.hh"

#include "byte-codec.hh"

#include <algorithm>

namespace account_guard {

namespace {

constexpr char tag_lock = 'L';
constexpr char tag_lifted = 'U';
constexpr char tag_fingerprint = 'F';
constexpr std::size_t max_reason = 1024;
constexpr std::size_t fingerprint_entry = 7;
// Appends happen once per lock (racing logins may add a few); far more is not our value.
constexpr std::size_t max_fingerprints = 64;

} // namespace

std::string encode_lock_fingerprint(std::uint32_t salt, std::uint16_t fingerprint)
{
	std::string out;
	out.push_back(tag_fingerprint);
	put_u32(out, salt);
	put_u16(out, fingerprint);
	return out;
}

std::string encode_lock(const Lock &lock)
{
	std::string out;
	const std::size_t len = std::min(lock.reason.size(), max_reason);
	out.reserve(16 + len + fingerprint_entry);
	out.push_back(tag_lock);
	put_u32(out, lock.since);
	put_varint(out, static_cast<std::uint32_t>(len));
	out.append(lock.reason, 0, len);
	if (lock.has_fingerprint)
		out += encode_lock_fingerprint(lock.salt, lock.fingerprint);
	return out;
}

std::string encode_lock_lifted(std::uint32_t at)
{
	std::string out;
	out.push_back(tag_lifted);
	put_u32(out, at);
	return out;
}

LockItem decode_lock(std::string_view data)
{
	LockItem item;
	ByteReader r(data);
	std::uint8_t tag = 0;
	if (!r.u8(&tag)) {
		item.malformed = true;
		return item;
	}
	if (tag == tag_lifted) {
		std::uint32_t at = 0;
		if (!r.u32(&at) || !r.at_end())
			item.malformed = true;
		else
			item.lifted = at;
		return item;
	}
	Lock lock;
	std::uint32_t reason_len = 0;
	std::string_view reason;
	if (tag != tag_lock || !r.u32(&lock.since) || !r.varint(&reason_len) || reason_len > max_reason ||
	    !r.bytes(reason_len, &reason) || r.remaining() % fingerprint_entry != 0 ||
	    r.remaining() / fingerprint_entry > max_fingerprints) {
		item.malformed = true;
		return item;
	}
	lock.reason = std::string(reason);
	for (bool first = true; !r.at_end(); first = false) {
		std::uint8_t entry_tag = 0;
		std::uint32_t salt = 0;
		std::uint16_t fingerprint = 0;
		if (!r.u8(&entry_tag) || entry_tag != static_cast<std::uint8_t>(tag_fingerprint) ||
		    !r.u32(&salt) || !r.u16(&fingerprint)) {
			item.malformed = true;
			return item;
		}
		if (first) {
			lock.has_fingerprint = true;
			lock.salt = salt;
			lock.fingerprint = fingerprint;
		}
	}
	item.lock = std::move(lock);
	return item;
}

Lock unreadable_lock()
{
	Lock lock;
	lock.reason = "lock item unreadable";
	return lock;
}

} // namespace account_guard
