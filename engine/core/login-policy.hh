#pragma once
// The login decision as a pure function: the account's stored record and one verified login
// in, the verdict, the record to write back and the events out. No I/O and no clock, so
// every rule is unit-tested with plain values; AccountService adds the store around it.

#include "account-record.hh"
#include "network.hh"
#include "event.hh"
#include "settings.hh"

#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

namespace account_guard {

enum class Verdict { allow, refuse, tempfail };

struct LoginInput {
	std::string_view user;
	std::string_view service;
	std::optional<IpAddress> ip;              // unset when missing or unparsable
	std::optional<std::string_view> password; // nullopt when not the account's own password
	std::uint32_t now = 0;
	std::optional<CountryCode> country;       // from GeoIP, when known
	std::optional<std::uint32_t> asn;         // from the ASN database, when known
	std::uint32_t new_salt = 0;               // salt for a lock set by this login
	// Whether anyone wants the debug-level account_guard_login_recorded event (Dovecot's
	// debug logging or a metric on it): when not, the common login builds no text at all.
	bool debug_events = true;
	std::optional<LastLocation> location;     // from the city database, when known
};

struct LoginDecision {
	Verdict verdict = Verdict::allow;
	bool write = false;      // the record's history changed and must be stored
	AccountRecord record;    // the record to store when write is set; its lock is the
				 // account's lock after this login (stored in the lock item)
	std::uint32_t expires = 0; // of the record, absolute
	bool locked_now = false;   // this login set the lock (an incident to notify)
	bool unlocked_now = false; // this login lifted the lock (the password changed)
	bool learned_fingerprint = false; // the lock took this login's password fingerprint
	// This login watches its network anew (a behaviour signal, behaviour/login-signals.hh):
	// an incident to notify, with the profile as evidence.
	std::optional<WatchKind> signal;
	std::vector<Event> events;
};

// False when this login's service is neither recorded nor lockable: no state is read at all.
bool login_needs_state(const Settings &settings, std::string_view service);

// `current` is taken by value: the decided record starts as it (moved in by a caller that
// needs it no more, which saves copying its lists on every login).
LoginDecision decide_login(const Settings &settings, std::optional<AccountRecord> current,
			   const LoginInput &login);

// How stale a known network's last-seen time may get before a login rewrites it: skipping
// those rewrites makes the common login (known network) cost one read and no write.
std::uint32_t refresh_interval(const Settings &settings);

// When an unlocked record may expire: after the longest window it still matters for.
std::uint32_t record_expiry(const Settings &settings, std::uint32_t now);

// The record after an unlock: no lock, no recent history, watches or incident; the
// recipient counts and the customer's profile stay (minus what arrived since the lock's
// incident began, the thief's owners and countries).
AccountRecord forget_history(const Settings &settings, AccountRecord record, std::uint32_t lock_since);

// Fills e.networks and e.countries with everything the record holds: a lock's evidence.
void describe_evidence(Event &e, const AccountRecord &record);

// Comma-separated networks / countries of a record, most recent first.
std::string list_networks(const std::vector<const NetworkSeen *> &entries);
std::string list_countries(const std::vector<const CountrySeen *> &entries);

} // namespace account_guard
