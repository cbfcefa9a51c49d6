#pragma once
// The RCPT decision as a pure function: the account's record in, whether this recipient may
// pass and the record to write back out: the same record (lock and login history unchanged)
// with the recipient counted. A refused recipient is not counted.

#include "account-record.hh"
#include "behaviour/contacts.hh"
#include "behaviour/signal.hh"
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
// account: the global limit, then the low flyer's rules (INTERFACE.md §8) — the probation
// limit for a session from a network on probation, the new-recipient limit for recipients
// not among the account's contacts, the usual-volume baseline — and the escalation of
// incident.hh. With `check_lock` (every RCPT of a session: the account may have been locked
// after it logged in) a locked account's recipients are all refused, none counted.
struct RcptInput {
	std::string_view user;
	std::uint32_t now = 0;
	bool check_lock = false;
	unsigned count = 1;
	std::optional<IpAddress> ip;                // the session's client address, when known
	// recipient_fingerprint() of each of the `count` recipients, when the addresses are
	// known (else the contact rules do not apply); and the contacts as read (null: none).
	const std::vector<std::uint32_t> *fingerprints = nullptr;
	const ContactSet *contacts = nullptr;
};

// What refused one recipient; Signal::recipients is the global limit (§4's reply text).
struct RcptVerdict {
	bool allowed = true;
	Signal signal = Signal::recipients; // when refused
	bool is_new = false;    // not a known contact (counted in the new-recipient windows)
	bool probation = false; // counted in the probation windows
};

struct RcptBatchDecision {
	unsigned accepted = 0; // how many of `count` were accepted (see verdicts for which)
	std::vector<RcptVerdict> verdicts;
	bool locked = false;   // refused because the account is locked
	bool write = false;
	AccountRecord record;  // to store when write is set
	std::uint32_t expires = 0;
	// The first refusal that crossed the global limit: what §4's incident mail is about.
	std::optional<Limit> crossed;
	std::uint64_t crossed_count = 0;
	std::string counts_at_refusal;
	// The escalation (incident.hh): this batch put the incident on hold (notify once) or
	// locks the account (the caller stores the lock; `lock_reason` says why).
	bool held_now = false;
	bool lock_now = false;
	std::string lock_reason;
	std::string signal_evidence; // for the notification: the signals, counts, profile
	std::vector<Event> events;
};

RcptBatchDecision decide_recipients(const Settings &settings, const std::optional<AccountRecord> &current,
				    const RcptInput &input);

// The same for recipients whose addresses and session are unknown (count only).
RcptBatchDecision decide_rcpt_batch(const Settings &settings, const std::optional<AccountRecord> &current,
				    std::string_view user, std::uint32_t now, bool check_lock, unsigned count);

// Recipients of a transaction that never completed DATA, given back: `all` of them, `fresh`
// of which were new recipients and `probation` from a network on probation. Returns whether
// the record changed.
bool give_back_recipients(const Settings &settings, AccountRecord &record, std::uint32_t now, unsigned all,
			  unsigned fresh, unsigned probation);

} // namespace account_guard
