#include "recipient-policy.hh"

#include "login-policy.hh"
#include "text.hh"

#include <iterator>

namespace account_guard {

RcptDecision decide_rcpt(const Settings &s, const std::optional<AccountRecord> &current,
			 std::string_view user, std::uint32_t now)
{
	RcptDecision d;
	if (s.recipient_limit.empty())
		return d;
	d.record = current.value_or(AccountRecord{});
	RecipientRecord &counts = d.record.recipients;
	counts.keep_only(s.recipient_limit);

	for (const Limit &l : s.recipient_limit) {
		const RecipientWindow *w = counts.find(l.window);
		std::uint64_t total = w ? w->total(now) : 0;
		if (total + 1 > l.count) {
			d.crossed = &l;
			d.count = total;
			break;
		}
	}
	const bool dry_run = s.mode == Mode::log;
	if (d.crossed) {
		Event e;
		e.name = "account_guard_rcpt_refused";
		e.level = Level::info;
		e.user = printable(user);
		e.reason = "recipients";
		e.limit = d.crossed->to_string();
		e.window = d.crossed->window_name();
		e.recipients = static_cast<long long>(d.count);
		e.message = std::string(dry_run ? "dry run: would refuse recipient: " : "recipient refused: ") +
			    std::to_string(d.count) + " recipients within " + e.window + " (limit " + e.limit + ")";
		d.events.push_back(std::move(e));
		if (!dry_run) {
			d.allowed = false;
			return d; // not counted
		}
	}
	for (const Limit &l : s.recipient_limit)
		counts.window(l.window).add(now, 1);
	d.write = true;
	// One item for the whole account: it must outlive the login history as well as the
	// longest recipient window (the lock is an item of its own).
	d.expires = record_expiry(s, now);
	return d;
}

RcptBatchDecision decide_rcpt_batch(const Settings &s, const std::optional<AccountRecord> &current,
				    std::string_view user, std::uint32_t now, bool check_lock, unsigned count)
{
	RcptBatchDecision b;
	const bool dry_run = s.mode == Mode::log;
	if (check_lock && current && current->lock) {
		Event e;
		e.name = "account_guard_rcpt_refused";
		e.level = Level::info;
		e.user = printable(user);
		e.reason = "locked";
		e.message = std::string(dry_run ? "dry run: would refuse recipient: " : "recipient refused: ") +
			    "account locked since " + format_time_utc(current->lock->since) +
			    " (the session logged in before the lock)";
		b.events.push_back(std::move(e));
		if (!dry_run) {
			b.locked = true;
			return b;
		}
	}
	if (s.recipient_limit.empty()) {
		b.accepted = count;
		return b;
	}
	std::optional<AccountRecord> record = current;
	for (unsigned i = 0; i < count; i++) {
		RcptDecision d = decide_rcpt(s, record, user, now);
		if (d.write) {
			b.write = true;
			b.expires = d.expires;
		}
		b.accepted += d.allowed ? 1 : 0;
		std::move(d.events.begin(), d.events.end(), std::back_inserter(b.events));
		if (!b.crossed && d.crossed != nullptr && !d.allowed) {
			b.crossed = *d.crossed;
			b.crossed_count = d.count;
			b.counts_at_refusal = format_recipient_counts(d.record.recipients, s.recipient_limit, now);
		}
		record = std::move(d.record);
	}
	if (record)
		b.record = std::move(*record);
	return b;
}

} // namespace account_guard
