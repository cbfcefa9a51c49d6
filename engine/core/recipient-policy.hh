#pragma once
// The RCPT decision as a pure function: the account's record in, whether this recipient may
// pass and the record to write back out: the same record (lock and login history unchanged)
// with the recipient counted. A refused recipient is not counted.

#include "account-record.hh"
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
	AccountRecord record;      // to store when write is set
	std::uint32_t expires = 0; // absolute; 0 = never (a locked record)
	const Limit *crossed = nullptr; // the window that refused it
	std::uint64_t count = 0;        // recipients already within that window
	std::vector<Event> events;
};

RcptDecision decide_rcpt(const Settings &settings, const std::optional<AccountRecord> &current,
			 std::string_view user, std::uint32_t now);

} // namespace account_guard
