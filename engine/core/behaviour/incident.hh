#pragma once
// Escalation (README "How it decides"): which signals only refuse, and when they lock.
//
// One weak signal alone only refuses: the recipient limits (global, probation, new
// recipients, baseline) answer 451 for the recipients above them, a foreign sender 553. Each
// refusal belongs to the account's *incident* (it lasts account_guard_probation from the
// first refusal). The incident escalates when a second, independent signal agrees:
//   corroborated = the session comes from a watched network (on probation, or an owner new
//                  to the profile), or the incident holds refusals of two different kinds
//                  (say a sender mismatch and the new-recipient limit);
//   hold         = corroborated: every further recipient that is not a known contact is
//                  refused for the rest of the incident (a thief mails strangers; the
//                  customer can still write to the people they know);
//   lock         = corroborated, and the sender *persists*: lock_strikes strikes, a strike
//                  being a transaction refused with recipients never refused before, at
//                  least strike_gap after the previous strike.
// Persistence is what separates the thief from the customer: a mail client that retries
// the refused message (iOS keeps an outbox) sends the same recipients again, which is no new
// strike; a spam run keeps sending to new strangers.

#include "signal.hh"

#include <cstdint>
#include <vector>

namespace account_guard {

constexpr unsigned lock_strikes = 3;
constexpr std::uint32_t strike_gap = 60;     // seconds
constexpr std::size_t max_refused_kept = 32; // fingerprints of refused recipients

struct Incident {
	std::uint32_t since = 0;        // the first refusal; 0: no incident
	std::uint32_t last_strike = 0;
	std::uint8_t strikes = 0;
	std::uint8_t signals = 0;       // signal_bit() of the refusal signals seen
	bool held = false;
	std::vector<std::uint32_t> refused; // newest last

	bool active(std::uint32_t now, std::int64_t length) const
	{
		return since != 0 && static_cast<std::int64_t>(now) - since < length;
	}
};

struct Escalation {
	bool held_now = false;   // this refusal put the incident on hold
	bool lock = false;       // ... and this one locks the account
	bool corroborated = false;
	bool changed = false;    // the incident must be stored (a retried refusal changes nothing)
};

// One refused transaction (or MAIL FROM): `refused` are the fingerprints of what it refused.
// `watched`: the session's network is watched. Updates the incident and says what follows.
Escalation escalate(Incident &incident, Signal signal, const std::vector<std::uint32_t> &refused, bool watched,
		    std::uint32_t now, std::int64_t length);

} // namespace account_guard
