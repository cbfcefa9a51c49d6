#include "recipient-policy.hh"

#include "text.hh"

namespace account_guard {

RcptDecision decide_rcpt(const Settings &s, const std::optional<RecipientRecord> &current,
			 std::string_view user, std::uint32_t now)
{
	RcptDecision d;
	if (s.recipient_limit.empty())
		return d;
	d.record = current.value_or(RecipientRecord{});
	d.record.keep_only(s.recipient_limit);

	for (const Limit &l : s.recipient_limit) {
		const RecipientWindow *w = d.record.find(l.window);
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
	std::int64_t longest = 0;
	for (const Limit &l : s.recipient_limit) {
		d.record.window(l.window).add(now, 1);
		longest = std::max(longest, l.window);
	}
	d.write = true;
	d.expires = now + static_cast<std::uint32_t>(longest);
	return d;
}

} // namespace account_guard
