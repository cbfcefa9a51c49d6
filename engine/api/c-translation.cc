#include "c-translation.hh"

#include "text.hh"

#include <algorithm>
#include <cstring>
#include <string>

namespace account_guard {

namespace {

const char *or_null(const std::string &s) { return s.empty() ? nullptr : s.c_str(); }

} // namespace

void copy_text(char *dest, std::size_t size, std::string_view text)
{
	if (dest == nullptr || size == 0)
		return;
	std::size_t n = std::min(text.size(), size - 1);
	std::memcpy(dest, text.data(), n);
	dest[n] = '\0';
}

void emit(const Event &e, ag_event_fn *on_event, void *context)
{
	if (on_event == nullptr)
		return;
	ag_event ev;
	ev.name = e.name;
	ev.level = static_cast<int>(e.level);
	ev.message = e.message.c_str();
	ev.user = or_null(e.user);
	ev.reason = or_null(e.reason);
	ev.networks = or_null(e.networks);
	ev.countries = or_null(e.countries);
	ev.limit = or_null(e.limit);
	ev.window = or_null(e.window);
	ev.count = e.count;
	ev.recipients = e.recipients;
	on_event(&ev, context);
}

void emit_all(const std::vector<Event> &events, ag_event_fn *on_event, void *context)
{
	for (const Event &e : events)
		emit(e, on_event, context);
}

void notify(const Settings &settings, const std::optional<Notification> &n, ag_notify_fn *on_notify,
	    void *context)
{
	if (!n || on_notify == nullptr)
		return;
	ag_notification out;
	out.user = n->user.c_str();
	out.reason = n->reason.c_str();
	out.to = settings.notify.c_str();
	out.from = settings.notify_from.c_str();
	out.relay = settings.notify_relay.c_str();
	out.subject = n->subject.c_str();
	out.body = n->body.c_str();
	on_notify(&out, context);
}

enum ag_verdict to_c_verdict(Verdict verdict)
{
	switch (verdict) {
	case Verdict::allow:
		return AG_VERDICT_ALLOW;
	case Verdict::refuse:
		return AG_VERDICT_REFUSE;
	case Verdict::tempfail:
		return AG_VERDICT_TEMPFAIL;
	}
	return AG_VERDICT_ALLOW;
}

enum ag_verdict failure_verdict(const Settings &settings)
{
	return settings.fail_mode == FailMode::closed ? AG_VERDICT_TEMPFAIL : AG_VERDICT_ALLOW;
}

void report_invalid_override(std::string_view user, const SettingError &error, ag_event_fn *on_event,
			     void *context)
{
	emit(backend_failed(Level::error, printable(user), "invalid user setting",
			    std::string("invalid per-user setting: ") + error.what()),
	     on_event, context);
}

void report_internal_error(std::string_view user, const char *what, ag_event_fn *on_event, void *context)
{
	Event e = backend_failed(Level::error, printable(user), "internal error",
				 std::string("internal error: ") + what);
	emit(e, on_event, context);
}

} // namespace account_guard
