#include "contacts.hh"

#include "byte-codec.hh"

#include <algorithm>

namespace account_guard {

namespace {

constexpr std::uint32_t seconds_per_day = 86400;
constexpr std::uint8_t contacts_version = 1;
constexpr std::uint32_t fingerprint_mask = 0xffffff;

// FNV-1a over the account, a separator and the lowered address, then a 64-bit finalizer
// (FNV's high bits are weak on short inputs): cheap, and an RCPT asks for one per recipient.
std::uint64_t mix(std::uint64_t h)
{
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ULL;
	h ^= h >> 33;
	return h;
}

bool by_fingerprint(const Contact &a, const Contact &b) { return a.fingerprint < b.fingerprint; }

} // namespace

std::uint32_t recipient_fingerprint(std::string_view user, std::string_view address)
{
	std::uint64_t h = 0xcbf29ce484222325ULL;
	auto feed = [&](unsigned char c) {
		h ^= c;
		h *= 0x100000001b3ULL;
	};
	for (char c : user)
		feed(static_cast<unsigned char>(c));
	feed(0);
	// Addresses compare case-insensitively in practice (the local part is the receiver's to
	// interpret, but no mailbox provider of note distinguishes case); <> are not part of it.
	for (char c : address) {
		if (c == '<' || c == '>')
			continue;
		feed(static_cast<unsigned char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c));
	}
	return static_cast<std::uint32_t>(mix(h) & fingerprint_mask);
}

bool ContactSet::knows(std::uint32_t fingerprint, std::uint32_t now, std::int64_t period) const
{
	auto it = std::lower_bound(contacts.begin(), contacts.end(), Contact{fingerprint, 0}, by_fingerprint);
	if (it == contacts.end() || it->fingerprint != fingerprint)
		return false;
	return static_cast<std::int64_t>(it->day + 1) * seconds_per_day > static_cast<std::int64_t>(now) - period;
}

bool ContactSet::established(std::uint32_t now, std::int64_t learning) const
{
	return since_day != 0 &&
	       static_cast<std::int64_t>(now) - static_cast<std::int64_t>(since_day) * seconds_per_day >= learning;
}

void ContactSet::learn(const std::vector<std::uint32_t> &fingerprints, std::uint32_t now)
{
	const std::uint32_t day = now / seconds_per_day;
	if (since_day == 0 || since_day > day)
		since_day = day;
	for (std::uint32_t fp : fingerprints) {
		fp &= fingerprint_mask;
		auto it = std::lower_bound(contacts.begin(), contacts.end(), Contact{fp, 0}, by_fingerprint);
		if (it != contacts.end() && it->fingerprint == fp)
			it->day = std::max(it->day, day);
		else
			contacts.insert(it, Contact{fp, day});
	}
	if (contacts.size() > max_contacts) {
		// Keep the most recently written (rare: only lists of thousands get here).
		std::stable_sort(contacts.begin(), contacts.end(),
				 [](const Contact &a, const Contact &b) { return a.day > b.day; });
		contacts.resize(max_contacts);
		std::sort(contacts.begin(), contacts.end(), by_fingerprint);
	}
}

void ContactSet::trim(std::uint32_t now, std::int64_t period)
{
	contacts.erase(std::remove_if(contacts.begin(), contacts.end(),
				      [&](const Contact &c) {
					      return static_cast<std::int64_t>(c.day + 1) * seconds_per_day <=
						     static_cast<std::int64_t>(now) - period;
				      }),
		       contacts.end());
}

// Layout: u8 version=1, u32 since_day, u32 base_day (the newest day), varint n, then per
// contact in fingerprint order: varint delta of the fingerprint from the previous one,
// varint base_day - day. About 4 bytes a contact.
std::string encode_contacts(const ContactSet &set)
{
	std::uint32_t base = set.since_day;
	for (const Contact &c : set.contacts)
		base = std::max(base, c.day);
	std::string out;
	out.reserve(10 + set.contacts.size() * 4);
	put_u8(out, contacts_version);
	put_u32(out, set.since_day);
	put_u32(out, base);
	put_varint(out, static_cast<std::uint32_t>(set.contacts.size()));
	std::uint32_t previous = 0;
	for (const Contact &c : set.contacts) {
		put_varint(out, c.fingerprint - previous);
		put_varint(out, base - c.day);
		previous = c.fingerprint;
	}
	return out;
}

std::optional<ContactSet> decode_contacts(std::string_view data)
{
	ByteReader r(data);
	std::uint8_t version;
	ContactSet set;
	std::uint32_t base, n;
	if (!r.u8(&version) || version != contacts_version || !r.u32(&set.since_day) || !r.u32(&base) ||
	    !r.varint(&n) || n > max_contacts * 2)
		return std::nullopt;
	set.contacts.reserve(n);
	std::uint32_t fp = 0;
	for (std::uint32_t i = 0; i < n; i++) {
		std::uint32_t delta, age;
		if (!r.varint(&delta) || !r.varint(&age) || age > base || (i > 0 && delta == 0) ||
		    delta > fingerprint_mask - fp)
			return std::nullopt;
		fp += delta;
		set.contacts.push_back(Contact{fp, base - age});
	}
	if (!r.at_end())
		return std::nullopt;
	return set;
}

} // namespace account_guard
