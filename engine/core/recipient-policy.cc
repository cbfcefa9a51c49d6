#include "recipient-policy.hh"

#include "login-policy.hh"
#include "text.hh"

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
	// longest recipient window, and a lock never expires.
	d.expires = d.record.lock ? 0 : record_expiry(s, now);
	return d;
}

} // namespace account_guard
