#pragma once
// An account's contacts (INTERFACE.md §8): the recipients it sent to within
// account_guard_contacts_period, as 24-bit fingerprints with the day each was last written
// to. An item of its own (KeyKind::contacts, placed with the account record so that the RCPT
// read fetches both), learned only from messages that completed DATA, so that a refused or
// abandoned transaction teaches nothing.
// Fingerprints are keyed by the account: the same address has unrelated fingerprints in two
// accounts, and a listing of the cache tells nobody who writes to whom. 24 bits make a false
// "known" about 1 in 80,000 for an account with 200 contacts; each costs about 4 bytes.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace account_guard {

std::uint32_t recipient_fingerprint(std::string_view user, std::string_view address);

// Enough for a newsletter's list; beyond it the contacts written to longest ago go.
constexpr std::size_t max_contacts = 4096;

struct Contact {
	std::uint32_t fingerprint = 0; // 24 bits
	std::uint32_t day = 0;         // last written to (time / 86400)
};

struct ContactSet {
	std::uint32_t since_day = 0;   // the first message learned: the history's age
	std::vector<Contact> contacts; // sorted by fingerprint

	bool knows(std::uint32_t fingerprint, std::uint32_t now, std::int64_t period) const;
	// Whether the set is old enough to judge by: it has learned for `learning` seconds.
	bool established(std::uint32_t now, std::int64_t learning) const;
	void learn(const std::vector<std::uint32_t> &fingerprints, std::uint32_t now);
	void trim(std::uint32_t now, std::int64_t period);
	std::size_t size() const { return contacts.size(); }
};

std::string encode_contacts(const ContactSet &set);
// Untrusted input: malformed yields nullopt (then the account learns afresh).
std::optional<ContactSet> decode_contacts(std::string_view data);

} // namespace account_guard
