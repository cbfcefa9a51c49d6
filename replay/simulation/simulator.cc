#include "simulator.hh"

#include "login-policy.hh"
#include "network.hh"
#include "text.hh"

#include <algorithm>
#include <cstring>

namespace account_guard::replay {

namespace {

// The setting behind a lock, from the reason the login policy gives it.
const char *lock_setting(const std::string &reason)
{
	return reason == "countries" ? "account_guard_country_limit" : "account_guard_ip_limit";
}

bool is(const Event &e, const char *name)
{
	return e.name != nullptr && std::strcmp(e.name, name) == 0;
}

std::int64_t longest(const LimitList &a, const LimitList &b)
{
	std::int64_t w = 0;
	for (const Limit &l : a)
		w = std::max(w, l.window);
	for (const Limit &l : b)
		w = std::max(w, l.window);
	return w;
}

} // namespace

Simulator::Simulator(const Settings &settings, GeoLookup *geo, DecisionSink &sink)
	: settings_(settings), geo_(geo), sink_(sink),
	  store_([this] { return static_cast<std::time_t>(now_); }),
	  // No other node writes: a lost compare-and-swap never happens, so there is nothing to
	  // wait for, and the retry budget runs on the events' clock.
	  service_(store_, settings.key_prefix, [](int) {},
		   [this] { return std::chrono::steady_clock::time_point(std::chrono::seconds(now_)); })
{
	settings_.mode = Mode::enforce;
}

void Simulator::apply(const ReplayEvent &e)
{
	now_ = std::max(now_, e.time);
	counts_.by_kind[static_cast<std::size_t>(e.kind)]++;
	switch (e.kind) {
	case EventKind::login:
		if (login_needs_state(settings_, e.service))
			login(e, account(e.user));
		break;
	case EventKind::message:
		message(e, account(e.user));
		break;
	case EventKind::password_change:
		password_change(e, account(e.user));
		break;
	case EventKind::bounce:
	case EventKind::complaint:
		counts_.unused++;
		break;
	}
}

Decision Simulator::decision(const ReplayEvent &e, DecisionKind kind, std::string rule, std::string reason) const
{
	Decision d;
	d.where = LineRef{e.file, e.line};
	d.time = now_;
	d.user = e.user;
	d.event = e.kind;
	d.decision = kind;
	d.rule = std::move(rule);
	d.reason = std::move(reason);
	return d;
}

Simulator::Account &Simulator::account(const std::string &user)
{
	auto it = accounts_.find(user);
	return it != accounts_.end() ? it->second : accounts_[user];
}

void Simulator::locked(const ReplayEvent &e, Account &account, const Event &event)
{
	account.locked = true;
	account.lock_rule = lock_setting(event.reason);
	account.locked_since = now_;
	Decision d = decision(e, DecisionKind::lock, account.lock_rule, event.message);
	d.evidence = account.evidence.lines(now_, longest(settings_.ip_limit, settings_.country_limit));
	sink_.decided(d);
}

void Simulator::login(const ReplayEvent &e, Account &account)
{
	// The log shows only that the login succeeded, so it was made with the password in use
	// then: a stand-in that changes at each password_change event, which is all the
	// fingerprint of a lock needs (unlock_on_password_change).
	password_ = "replay-password-";
	password_ += std::to_string(account.password_generation);

	LoginInput in;
	in.user = e.user;
	in.service = e.service;
	in.ip = parse_ip(e.ip);
	if (geo_ && in.ip) {
		// As the auth process asks (engine/api/login-request.cc): only what a rule uses.
		GeoInfo geo = geo_->lookup(*in.ip, !settings_.country_limit.empty(),
					   !settings_.exempt_asns.empty() || !settings_.nat_asns.empty());
		in.country = geo.country;
		in.asn = geo.asn;
	}
	in.password = std::string_view(password_);
	in.now = static_cast<std::uint32_t>(now_);
	in.new_salt = ++salt_;
	in.debug_events = false;
	if (in.ip && settings_.record_services.contains(e.service))
		account.evidence.login(Network::of(*in.ip, in.ip->v4 ? settings_.ipv4_prefix : settings_.ipv6_prefix),
				       now_, LineRef{e.file, e.line});

	LoginResult r = service_.login(settings_, in);
	for (const Event &ev : r.events) {
		if (is(ev, "account_guard_account_locked")) {
			locked(e, account, ev);
		} else if (is(ev, "account_guard_account_unlocked")) {
			account.locked = false;
			account.evidence.forget();
			sink_.decided(decision(e, DecisionKind::unlock, "account_guard_unlock_on_password_change", ev.message));
		}
	}
	if (r.verdict == Verdict::refuse) {
		std::string reason;
		for (const Event &ev : r.events)
			if (is(ev, "account_guard_login_refused"))
				reason = ev.message;
		if (reason.empty())
			reason = "login refused: the account was locked by this login";
		sink_.decided(decision(e, DecisionKind::refuse_login, account.lock_rule, reason));
	}
	if (r.notification)
		sink_.decided(decision(e, DecisionKind::notify, account.lock_rule, "notification to " + settings_.notify));
}

void Simulator::message(const ReplayEvent &e, Account &account)
{
	const unsigned count = static_cast<unsigned>(std::min<std::size_t>(e.to.size(), 1000000));
	counts_.recipients += count;
	if (count == 0)
		return;
	// A locked account whose login this message needed is refused at that login: the
	// message never gets to RCPT (a Postfix SASL login, service smtp; a Dovecot submission
	// session when submission is a lock service).
	const std::string_view service = e.service.empty() ? std::string_view("submission") : std::string_view(e.service);
	if (account.locked && settings_.lock_services.contains(service)) {
		Decision d = decision(e, DecisionKind::refuse_rcpt, account.lock_rule,
				      "recipients refused: account locked since " + format_time_utc(account.locked_since));
		d.accepted = 0;
		d.refused = count;
		sink_.decided(d);
		return;
	}
	RcptResult r = service_.rcpt(settings_, e.user, static_cast<std::uint32_t>(now_), true, count);
	const unsigned accepted = r.allowed ? count : std::min(r.accepted, count);
	std::string reason;
	std::string rule = "account_guard_recipient_limit";
	for (const Event &ev : r.events)
		if (is(ev, "account_guard_rcpt_refused") && reason.empty())
			reason = ev.message;
	if (r.locked) {
		rule = account.lock_rule;
		// The engine's words are for a live session that logged in before the lock; in the
		// replay the message simply comes from a locked account.
		reason = "recipients refused: account locked since " + format_time_utc(account.locked_since);
	}
	if (accepted < count) {
		Decision d = decision(e, DecisionKind::refuse_rcpt, rule, reason);
		d.accepted = accepted;
		d.refused = count - accepted;
		sink_.decided(d);
	}
	if (r.notification) {
		Decision d = decision(e, DecisionKind::notify, rule, "notification to " + settings_.notify);
		d.accepted = accepted;
		d.refused = count - accepted;
		sink_.decided(d);
	}
}

void Simulator::password_change(const ReplayEvent &e, Account &a)
{
	a.password_generation++;
	// A password change lifts the lock when the settings say so: at once, as
	// account-guard-passwd chpasswd does (the login path would at the next login with the new
	// password, which is all the thief's logins are not).
	if (!a.locked || !settings_.unlock_on_password_change)
		return;
	std::vector<Event> events = service_.unlock(settings_, e.user, false, static_cast<std::uint32_t>(now_));
	a.locked = false;
	a.evidence.forget();
	// The service's event speaks of an administrator; in the replay it was the password.
	(void)events;
	sink_.decided(decision(e, DecisionKind::unlock, "account_guard_unlock_on_password_change",
			       "account unlocked: password changed"));
}

std::size_t Simulator::accounts_locked_now() const
{
	return static_cast<std::size_t>(
		std::count_if(accounts_.begin(), accounts_.end(), [](const auto &a) { return a.second.locked; }));
}

} // namespace account_guard::replay
