#pragma once
// Networks the guard watches for one account after a login signal (INTERFACE.md §8): an
// unfamiliar login, a suspect network, impossible travel — each puts the network *on
// probation* for account_guard_probation (its submission sessions get the probation
// recipient limit) — and the weaker new_owner (an owner new to the profile in a familiar
// country: no probation, but it corroborates a refusal, see incident.hh).
// The network is the client address's /24 or /64 (or its NAT pool), not an AS: the submission
// process that checks it has the address but no ASN database.

#include "network.hh"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace account_guard {

enum class WatchKind : std::uint8_t { new_owner = 0, unfamiliar = 1, suspect = 2, travel = 3 };

const char *watch_kind_name(WatchKind kind); // the signal's name: "unfamiliar", ...
bool on_probation(WatchKind kind);            // every kind but new_owner

struct Watch {
	Network network;
	std::uint32_t until = 0; // absolute
	WatchKind kind = WatchKind::new_owner;
};

constexpr std::size_t max_watches = 16;

struct WatchList {
	std::vector<Watch> items; // soonest to end last; at most max_watches

	// The strongest live watch of the network.
	const Watch *find(const Network &network, std::uint32_t now) const;
	const Watch *find(const IpAddress &ip, std::uint32_t now) const;
	// Watches the network until `until` as `kind` (keeping a stronger kind); true when this
	// is news worth a write and a report: a new watch, a stronger kind, or an extension
	// by more than `slack` seconds.
	bool watch(const Network &network, WatchKind kind, std::uint32_t until, std::uint32_t slack);
	void trim(std::uint32_t now);
	// "192.0.2.0/24,198.51.100.0/24": the networks on probation (status).
	std::string probation_list(std::uint32_t now) const;
};

} // namespace account_guard
