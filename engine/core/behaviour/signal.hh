#pragma once
// The behaviour signals of INTERFACE.md §8: the `signal` field of account_guard_signal events.
// Login signals watch the network (watch-list.hh); refusal signals refuse recipients or a
// sender and count towards an incident (incident.hh).

#include <cstdint>

namespace account_guard {

enum class Signal : std::uint8_t {
	// refusals (bits of Incident::signals)
	recipients = 0,      // account_guard_recipient_limit
	probation_limit = 1, // account_guard_probation_recipient_limit
	new_recipients = 2,  // account_guard_new_recipient_limit
	baseline = 3,        // account_guard_recipient_baseline_factor / _floor
	sender_mismatch = 4, // account_guard_sender_check
	hold = 5,            // a corroborated incident holds every new recipient (incident.hh)
	// logins (the watch kinds, watch-list.hh)
	unfamiliar = 8,
	suspect = 9,
	travel = 10,
	new_owner = 11,
};

const char *signal_name(Signal signal);

constexpr std::uint8_t signal_bit(Signal s) { return static_cast<std::uint8_t>(1u << static_cast<unsigned>(s)); }

} // namespace account_guard
