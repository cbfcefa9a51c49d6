#pragma once
// The RCPT decision as a pure function: the account's record in, whether this recipient may
// pass and the record to write back out: the same record (lock and login history unchanged)
// with the recipient counted. A refused recipient is not counted.

#include "account-record.hh"
#include "event.hh"
#include "recipient-record.hh"
#include "settings.hh"

#include <optional>
#include <string>
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

// `count` recipients of one session (pipelined RCPTs) decided in order on one read of the
// account: the same verdicts as `count` calls of decide_rcpt, each on the record the previous
// one left. With `check_lock` (every RCPT of a session: the account may have been locked after
// it logged in) a locked account's recipients are all refused, none counted.
struct RcptBatchDecision {
	unsigned accepted = 0; // always the first ones: a refused one is not counted, so every
			       // later one in the same window is refused too
	bool locked = false;   // refused because the account is locked
	bool write = false;
	AccountRecord record;  // to store when write is set
	std::uint32_t expires = 0;
	// The first refusal that crossed a limit: what an incident mail is about.
	std::optional<Limit> crossed;
	std::uint64_t crossed_count = 0;
	std::string counts_at_refusal;
	std::vector<Event> events;
};

RcptBatchDecision decide_rcpt_batch(const Settings &settings, const std::optional<AccountRecord> &current,
				    std::string_view user, std::uint32_t now, bool check_lock, unsigned count);

} // namespace account_guard
