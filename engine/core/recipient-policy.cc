#include "recipient-policy.hh"

#include "login-policy.hh"
#include "behaviour/login-signals.hh"
#include "text.hh"

#include <algorithm>

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

namespace {

const char *refusal_text(Signal signal)
{
	switch (signal) {
	case Signal::probation_limit: return "recipients from a network on probation";
	case Signal::new_recipients: return "new recipients";
	case Signal::baseline: return "recipients today, above the account's usual day";
	case Signal::hold: return "new recipient held: the account's incident is corroborated";
	default: return "recipients";
	}
}

Event rcpt_event(const char *name, std::string_view user, Signal signal, bool dry_run, std::string text)
{
	Event e;
	e.name = name;
	e.level = Level::info;
	e.user = printable(user);
	e.signal = signal_name(signal);
	e.reason = e.signal;
	e.message = std::string(dry_run ? "dry run: would refuse recipient: " : "recipient refused: ") + text;
	return e;
}

Event signal_event(std::string_view user, Signal signal, bool dry_run, std::string text)
{
	Event e;
	e.name = "account_guard_signal";
	e.level = Level::info;
	e.user = printable(user);
	e.signal = signal_name(signal);
	e.reason = e.signal;
	e.message = std::string(dry_run ? "dry run: " : "") + "signal " + e.signal + ": " + text;
	return e;
}

// The baseline's limit for today, or 0 when the rule does not apply (off, a profile still
// learning, too few active days to know the usual one).
std::uint64_t baseline_limit(const Settings &s, const Profile &p, std::uint32_t now, std::uint32_t *usual_r)
{
	if (s.recipient_baseline_factor == 0 || !p.established(s, now))
		return 0;
	const std::uint32_t usual = p.usual_day(s, now);
	*usual_r = usual;
	if (usual == 0)
		return 0;
	return std::max<std::uint64_t>(s.recipient_baseline_floor,
				       static_cast<std::uint64_t>(usual) * s.recipient_baseline_factor);
}

} // namespace

RcptBatchDecision decide_recipients(const Settings &s, const std::optional<AccountRecord> &current,
				    const RcptInput &in)
{
	RcptBatchDecision b;
	const bool dry_run = s.mode == Mode::log;
	const unsigned count = std::max(in.count, 1u);
	if (in.check_lock && current && current->lock) {
		Event e;
		e.name = "account_guard_rcpt_refused";
		e.level = Level::info;
		e.user = printable(in.user);
		e.reason = "locked";
		e.message = std::string(dry_run ? "dry run: would refuse recipient: " : "recipient refused: ") +
			    "account locked since " + format_time_utc(current->lock->since) +
			    " (the session logged in before the lock)";
		b.events.push_back(std::move(e));
		if (!dry_run) {
			b.locked = true;
			b.verdicts.assign(count, RcptVerdict{false, Signal::recipients});
			return b;
		}
	}
	b.record = current.value_or(AccountRecord{});
	AccountRecord &r = b.record;
	const std::uint32_t now = in.now;
	r.recipients.keep_only(s.recipient_limit);
	r.probation_recipients.keep_only(s.probation_recipient_limit);
	r.new_recipients.keep_only(s.new_recipient_limit);
	r.watches.trim(now);

	const Watch *watch = in.ip ? r.watches.find(*in.ip, now) : nullptr;
	const bool probation = watch && on_probation(watch->kind) && !s.probation_recipient_limit.empty();
	const bool contacts_apply = in.fingerprints && in.fingerprints->size() >= count && in.contacts &&
				    in.contacts->established(now, s.profile_learning) && !s.new_recipient_limit.empty();
	const bool held = r.incident.active(now, s.probation) && r.incident.held;
	std::uint32_t usual = 0;
	const std::uint64_t baseline = baseline_limit(s, r.profile, now, &usual);

	// Refused fingerprints by signal, for the escalation.
	std::vector<std::pair<Signal, std::vector<std::uint32_t>>> refusals;
	for (unsigned i = 0; i < count; i++) {
		RcptVerdict v;
		const std::uint32_t fp = in.fingerprints && i < in.fingerprints->size() ? (*in.fingerprints)[i] : 0;
		v.is_new = contacts_apply && !in.contacts->knows(fp, now, s.contacts_period);
		v.probation = probation;
		std::uint64_t so_far = 0;
		const Limit *crossed = nullptr;
		if ((crossed = r.recipients.crossed_by(s.recipient_limit, now, &so_far))) {
			v.allowed = false;
			v.signal = Signal::recipients;
			if (!b.crossed && !dry_run) {
				b.crossed = *crossed;
				b.crossed_count = so_far;
				b.counts_at_refusal = format_recipient_counts(r.recipients, s.recipient_limit, now);
			}
			Event e = rcpt_event("account_guard_rcpt_refused", in.user, Signal::recipients, dry_run,
					     std::to_string(so_far) + " recipients within " + crossed->window_name() +
						     " (limit " + crossed->to_string() + ")");
			e.reason = "recipients";
			e.signal.clear();
			e.limit = crossed->to_string();
			e.window = crossed->window_name();
			e.recipients = static_cast<long long>(so_far);
			b.events.push_back(std::move(e));
		} else if (probation && (crossed = r.probation_recipients.crossed_by(s.probation_recipient_limit, now, &so_far))) {
			v.allowed = false;
			v.signal = Signal::probation_limit;
			Event e = rcpt_event("account_guard_rcpt_refused", in.user, v.signal, dry_run,
					     std::to_string(so_far) + " " + refusal_text(v.signal) + " " +
						     watch->network.to_string() + " within " + crossed->window_name() +
						     " (limit " + crossed->to_string() + ")");
			e.networks = watch->network.to_string();
			e.limit = crossed->to_string();
			e.window = crossed->window_name();
			e.recipients = static_cast<long long>(so_far);
			b.events.push_back(std::move(e));
		} else if (v.is_new && held) {
			v.allowed = false;
			v.signal = Signal::hold;
			b.events.push_back(rcpt_event("account_guard_rcpt_refused", in.user, v.signal, dry_run,
						      refusal_text(v.signal)));
		} else if (v.is_new && (crossed = r.new_recipients.crossed_by(s.new_recipient_limit, now, &so_far))) {
			v.allowed = false;
			v.signal = Signal::new_recipients;
			Event e = rcpt_event("account_guard_rcpt_refused", in.user, v.signal, dry_run,
					     std::to_string(so_far) + " " + refusal_text(v.signal) + " within " +
						     crossed->window_name() + " (limit " + crossed->to_string() + ")");
			e.limit = crossed->to_string();
			e.window = crossed->window_name();
			e.recipients = static_cast<long long>(so_far);
			b.events.push_back(std::move(e));
		} else if (baseline != 0 && r.profile.today(now) + 1ULL > baseline) {
			v.allowed = false;
			v.signal = Signal::baseline;
			Event e = rcpt_event("account_guard_rcpt_refused", in.user, v.signal, dry_run,
					     std::to_string(r.profile.today(now)) + " " + refusal_text(v.signal) + " (usual " +
						     std::to_string(usual) + ", limit " + std::to_string(baseline) + ")");
			e.recipients = static_cast<long long>(r.profile.today(now));
			e.limit = std::to_string(baseline) + "/1d";
			b.events.push_back(std::move(e));
		}
		if (!v.allowed) {
			auto it = std::find_if(refusals.begin(), refusals.end(),
					       [&](const auto &p) { return p.first == v.signal; });
			if (it == refusals.end())
				it = refusals.insert(refusals.end(), {v.signal, {}});
			if (in.fingerprints)
				it->second.push_back(fp);
			if (!dry_run) {
				b.verdicts.push_back(v);
				continue; // not counted
			}
			v.allowed = true;
		}
		r.recipients.add(s.recipient_limit, now, 1);
		if (v.probation)
			r.probation_recipients.add(s.probation_recipient_limit, now, 1);
		if (v.is_new)
			r.new_recipients.add(s.new_recipient_limit, now, 1);
		r.profile.add_recipients(now, 1);
		b.accepted++;
		b.verdicts.push_back(v);
	}

	// Escalation: each kind of refusal this batch saw, in order.
	for (const auto &[signal, fps] : refusals) {
		if (signal == Signal::recipients && s.recipient_limit.empty())
			continue;
		Escalation e = escalate(r.incident, signal, fps, watch != nullptr, now, s.probation);
		b.write |= e.changed;
		if (signal != Signal::recipients) {
			// One signal event per kind and batch; the refusals above are one per recipient.
			b.events.push_back(signal_event(in.user, signal, dry_run,
							std::to_string(fps.size()) + " recipients refused (" +
								refusal_text(signal) + ")"));
		}
		if (e.held_now) {
			b.held_now = true;
			b.events.push_back(signal_event(
				in.user, Signal::hold, dry_run,
				"incident corroborated (" + std::string(signal_name(signal)) +
					(watch ? std::string(", session from ") + watch_kind_name(watch->kind) + " network " +
							 watch->network.to_string()
					       : std::string(", refusals of two kinds")) +
					"): new recipients held for " + format_duration(s.probation)));
		}
		if (e.lock && !b.lock_now) {
			b.lock_now = true;
			b.lock_reason = std::string("behaviour: ") + std::to_string(r.incident.strikes) +
					" refused transactions since " + format_time_utc(r.incident.since) + " (" +
					signal_name(signal) +
					(watch ? std::string(", ") + watch_kind_name(watch->kind) + " network " +
							 watch->network.to_string()
					       : std::string()) +
					")";
		}
	}
	if (b.accepted > 0)
		b.write = true;
	b.signal_evidence = "Profile owners:   " + (r.profile.owners.empty() ? std::string("(none)") : list_owners(r.profile)) +
			    "\nProfile countries: " +
			    (r.profile.countries.empty() ? std::string("(none)") : list_profile_countries(r.profile)) +
			    "\nUsual day:        " + std::to_string(r.profile.usual_day(s, now)) + " recipients" +
			    "\nToday:            " + std::to_string(r.profile.today(now)) + " recipients" +
			    "\nIncident:         " + std::to_string(r.incident.strikes) + " refused transactions since " +
			    (r.incident.since ? format_time_utc(r.incident.since) : std::string("-")) + "\n";
	if (dry_run)
		b.lock_now = false;
	b.expires = record_expiry(s, now);
	return b;
}

RcptBatchDecision decide_rcpt_batch(const Settings &s, const std::optional<AccountRecord> &current,
				    std::string_view user, std::uint32_t now, bool check_lock, unsigned count)
{
	RcptInput in;
	in.user = user;
	in.now = now;
	in.check_lock = check_lock;
	in.count = count;
	return decide_recipients(s, current, in);
}

bool give_back_recipients(const Settings &s, AccountRecord &record, std::uint32_t now, unsigned all,
			  unsigned fresh, unsigned probation)
{
	if (all == 0)
		return false;
	record.recipients.take_back(s.recipient_limit, now, all);
	record.new_recipients.take_back(s.new_recipient_limit, now, fresh);
	record.probation_recipients.take_back(s.probation_recipient_limit, now, probation);
	record.profile.add_recipients(now, -static_cast<long long>(all));
	return true;
}

} // namespace account_guard
