#include "tally.hh"

namespace account_guard::replay {

void Tally::add(const Decision &d)
{
	const auto kind = static_cast<std::size_t>(d.decision);
	decisions[kind]++;
	rules[d.rule][kind]++;
	if (d.decision == DecisionKind::lock)
		accounts_locked.insert(d.user);
	if (d.decision == DecisionKind::refuse_login || d.decision == DecisionKind::refuse_rcpt)
		accounts_refused.insert(d.user);
	if (d.decision == DecisionKind::refuse_rcpt && d.refused > 0)
		recipients_refused += static_cast<std::uint64_t>(d.refused);
}

} // namespace account_guard::replay
