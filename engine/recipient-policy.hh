#pragma once
// The RCPT decision as a pure function: the account's recipient counts in, whether this
// recipient may pass and the counts to write back out. A refused recipient is not counted.

#include "event.hh"
#include "recipient-record.hh"
#include "settings.hh"

#include <optional>
#include <string_view>
#include <vector>

namespace account_guard {

struct RcptDecision {
	bool allowed = true;       // false: 451 4.7.1 (unless dry run, see settings.mode)
	bool write = false;
	RecipientRecord record;
	std::uint32_t expires = 0;
	const Limit *crossed = nullptr; // the window that refused it
	std::uint64_t count = 0;        // recipients already within that window
	std::vector<Event> events;
};

RcptDecision decide_rcpt(const Settings &settings, const std::optional<RecipientRecord> &current,
			 std::string_view user, std::uint32_t now);

} // namespace account_guard
