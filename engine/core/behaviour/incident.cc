#include "incident.hh"

#include <algorithm>

namespace account_guard {

const char *signal_name(Signal signal)
{
	switch (signal) {
	case Signal::recipients: return "recipients";
	case Signal::probation_limit: return "probation_limit";
	case Signal::new_recipients: return "new_recipients";
	case Signal::baseline: return "baseline";
	case Signal::sender_mismatch: return "sender_mismatch";
	case Signal::hold: return "hold";
	case Signal::unfamiliar: return "unfamiliar";
	case Signal::suspect: return "suspect";
	case Signal::travel: return "travel";
	case Signal::new_owner: return "new_owner";
	}
	return "unknown";
}

namespace {

unsigned count_bits(std::uint8_t v)
{
	unsigned n = 0;
	for (; v != 0; v &= static_cast<std::uint8_t>(v - 1))
		n++;
	return n;
}

} // namespace

Escalation escalate(Incident &incident, Signal signal, const std::vector<std::uint32_t> &refused, bool watched,
		    std::uint32_t now, std::int64_t length)
{
	Escalation e;
	if (!incident.active(now, length)) {
		incident = Incident{};
		incident.since = now;
		e.changed = true;
	}
	if (signal != Signal::hold && (incident.signals & signal_bit(signal)) == 0) {
		incident.signals |= signal_bit(signal);
		e.changed = true;
	}

	bool novel = false;
	for (std::uint32_t fp : refused) {
		if (std::find(incident.refused.begin(), incident.refused.end(), fp) != incident.refused.end())
			continue;
		novel = true;
		e.changed = true;
		incident.refused.push_back(fp);
	}
	if (incident.refused.size() > max_refused_kept)
		incident.refused.erase(incident.refused.begin(),
				       incident.refused.end() - static_cast<std::ptrdiff_t>(max_refused_kept));
	if (novel && (incident.strikes == 0 || now >= incident.last_strike + strike_gap)) {
		if (incident.strikes < 255)
			incident.strikes++;
		incident.last_strike = now;
	}

	e.corroborated = watched || count_bits(incident.signals) >= 2;
	if (e.corroborated && !incident.held) {
		incident.held = true;
		e.held_now = true;
		e.changed = true;
	}
	e.lock = e.corroborated && incident.strikes >= lock_strikes;
	return e;
}

} // namespace account_guard
