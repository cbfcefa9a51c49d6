#include "login-policy.hh"

#include "behaviour/login-signals.hh"
#include "fingerprint.hh"
#include "text.hh"

#include <algorithm>

namespace account_guard {

namespace {

std::int64_t longest_window(const LimitList &limits)
{
	return limits.empty() ? 0 : limits.back().window;
}

std::size_t entries_to_keep(const LimitList &limits)
{
	std::uint32_t most = 0;
	for (const Limit &l : limits)
		most = std::max(most, l.count);
	// One more than the largest limit: "more than N" stays decidable after trimming.
	return static_cast<std::size_t>(most) + 1;
}

Event make_event(const char *name, Level level, const LoginInput &login, std::string message)
{
	Event e;
	e.name = name;
	e.level = level;
	e.user = printable(login.user);
	e.message = std::move(message);
	return e;
}

// The first limit the record crosses, with the entries inside its window.
struct Crossing {
	const Limit *limit = nullptr;
	std::string what; // "networks" or "countries"
	std::string list;
	std::size_t count = 0;
};

std::optional<Crossing> find_crossing(const Settings &s, const AccountRecord &record, std::uint32_t now)
{
	// Counted first: the lists are made only for the rare login that crosses a limit.
	for (const Limit &l : s.ip_limit) {
		std::size_t count = record.count_networks_within(now, l.window);
		if (count > l.count)
			return Crossing{&l, "networks", list_networks(record.networks_within(now, l.window)), count};
	}
	for (const Limit &l : s.country_limit) {
		std::size_t count = record.count_countries_within(now, l.window);
		if (count > l.count)
			return Crossing{&l, "countries", list_countries(record.countries_within(now, l.window)), count};
	}
	return std::nullopt;
}

} // namespace

AccountRecord forget_history(const Settings &s, AccountRecord record, std::uint32_t lock_since)
{
	AccountRecord fresh;
	fresh.recipients = std::move(record.recipients);
	// The customer's long-term profile stays (a new profile would blind the guard for the
	// learning period); what it learned since shortly before the lock is the thief's.
	const std::int64_t thief_since = static_cast<std::int64_t>(lock_since) - s.probation;
	fresh.profile = std::move(record.profile);
	fresh.profile.forget_since(static_cast<std::uint32_t>(std::max<std::int64_t>(0, thief_since)));
	return fresh;
}

void describe_evidence(Event &e, const AccountRecord &record)
{
	std::vector<std::string> nets, countries;
	for (const NetworkSeen &n : record.networks)
		nets.push_back(n.network.to_string());
	for (const CountrySeen &c : record.countries)
		countries.push_back(format_country(c.country));
	e.networks = join(nets, ",");
	e.countries = join(countries, ",");
}

namespace {

bool dry_run(const Settings &s) { return s.mode == Mode::log; }

bool contains(const std::vector<std::uint32_t> &asns, std::uint32_t asn)
{
	return std::find(asns.begin(), asns.end(), asn) != asns.end();
}

void refuse_locked(const Settings &s, const Lock &lock, const LoginInput &login, LoginDecision &d)
{
	Event e = make_event("account_guard_login_refused", Level::info, login,
			     std::string(dry_run(s) ? "dry run: would refuse login: " : "login refused: ") +
				     "account locked since " + format_time_utc(lock.since) + " (" +
				     printable(lock.reason) + ")");
	e.reason = "locked";
	d.events.push_back(std::move(e));
	d.verdict = dry_run(s) ? Verdict::allow : Verdict::refuse;
}

} // namespace

bool login_needs_state(const Settings &settings, std::string_view service)
{
	return settings.record_services.contains(service) || settings.lock_services.contains(service);
}

std::uint32_t refresh_interval(const Settings &settings)
{
	std::int64_t shortest = 0;
	for (const LimitList *limits : {&settings.ip_limit, &settings.country_limit}) {
		if (!limits->empty() && (shortest == 0 || limits->front().window < shortest))
			shortest = limits->front().window;
	}
	// 1/60 of the shortest window: an hour's window is off by at most a minute.
	return static_cast<std::uint32_t>(std::clamp<std::int64_t>(shortest / 60, 1, 300));
}

std::uint32_t record_expiry(const Settings &settings, std::uint32_t now)
{
	// The login history needs its longest window plus the refresh interval (a known network's
	// last-seen time may lag that much); the recipient counts, in the same item, their
	// longest window.
	std::int64_t history = std::max(longest_window(settings.ip_limit), longest_window(settings.country_limit)) +
			       refresh_interval(settings);
	std::int64_t longest = std::max(history, longest_window(settings.recipient_limit));
	// The profile outlives them all: it is the account's memory of itself.
	longest = std::max(longest, settings.profile_period);
	return now + static_cast<std::uint32_t>(longest);
}

std::string list_networks(const std::vector<const NetworkSeen *> &entries)
{
	std::vector<std::string> items;
	for (const NetworkSeen *e : entries)
		items.push_back(e->network.to_string());
	return join(items, ",");
}

std::string list_countries(const std::vector<const CountrySeen *> &entries)
{
	std::vector<std::string> items;
	for (const CountrySeen *e : entries)
		items.push_back(format_country(e->country));
	return join(items, ",");
}

LoginDecision decide_login(const Settings &s, std::optional<AccountRecord> current,
			   const LoginInput &login)
{
	LoginDecision d;
	if (current)
		d.record = std::move(*current);
	const bool lockable = s.lock_services.contains(login.service);
	// The profile learns from every recorded login, even with both limits off.
	const bool recorded = s.record_services.contains(login.service);

	if (d.record.lock) {
		Lock &lock = *d.record.lock;
		if (login.password && lock.has_fingerprint && s.unlock_on_password_change &&
		    password_fingerprint(lock.salt, login.user, *login.password) != lock.fingerprint) {
			// A verified password other than the one in use at lock time: the customer
			// changed it, so the thief's old entries are forgotten with the lock.
			Event e = make_event("account_guard_account_unlocked", Level::info, login,
					     "account unlocked: password changed (locked since " +
						     format_time_utc(lock.since) + ": " + printable(lock.reason) + ")");
			e.reason = "password changed";
			describe_evidence(e, d.record);
			d.events.push_back(std::move(e));
			// The recipient counts are not evidence: they stay (README "Operating it": only an
			// explicit reset clears them).
			d.record = forget_history(s, std::move(d.record), lock.since);
			d.write = true;
			d.unlocked_now = true;
			d.expires = record_expiry(s, login.now);
		} else {
			if (login.password && !lock.has_fingerprint) {
				// An administrator's lock learns the password in use from the first
				// login after it, so a later change can still lift it.
				lock.has_fingerprint = true;
				lock.salt = login.new_salt;
				lock.fingerprint = password_fingerprint(lock.salt, login.user, *login.password);
				d.learned_fingerprint = true;
			}
			if (lockable)
				refuse_locked(s, lock, login, d);
			return d;
		}
	}

	if (!recorded)
		return d;

	const auto &ip = login.ip;
	const bool exempt_asn = login.asn && contains(s.exempt_asns, *login.asn);
	if ((ip && s.exempt_networks.find(*ip) != nullptr) || exempt_asn) {
		if (!login.debug_events)
			return d;
		d.events.push_back(make_event("account_guard_login_recorded", Level::debug, login,
					      exempt_asn ? "login from exempt AS" + std::to_string(*login.asn) + " not recorded"
							 : std::string("login from exempt network not recorded")));
		d.events.back().reason = "exempt";
		return d;
	}

	Network network;
	if (!ip)
		network = Network::unknown();
	else if (const Network *nat = s.nat_networks.find(*ip))
		network = *nat;
	else if (login.asn && contains(s.nat_asns, *login.asn))
		network = Network::of_asn(*login.asn);
	else
		network = Network::of(*ip, ip->v4 ? s.ipv4_prefix : s.ipv6_prefix);

	const std::uint32_t now = login.now;
	const std::uint32_t stale = now > refresh_interval(s) ? now - refresh_interval(s) : 0;
	{
		LoginFacts facts{login.user, ip, login.country, login.asn, login.location,
				 ip && !s.nat_networks.find(*ip) ? Network::of(*ip, ip->v4 ? s.ipv4_prefix : s.ipv6_prefix)
								 : network};
		LoginSignals signals = assess_login(s, d.record, facts, now, stale, d.events);
		d.write |= signals.write;
		d.signal = signals.news;
	}
	if (!s.ip_limit.empty()) {
		std::uint32_t previous = d.record.touch_network(network, now);
		if (previous < stale)
			d.write = true;
	}
	if (!s.country_limit.empty() && login.country) {
		std::uint32_t previous = d.record.touch_country(*login.country, now);
		if (previous < stale)
			d.write = true;
	}
	d.record.trim_networks(now, longest_window(s.ip_limit), entries_to_keep(s.ip_limit));
	d.record.trim_countries(now, longest_window(s.country_limit), entries_to_keep(s.country_limit));
	d.expires = record_expiry(s, now);

	auto crossing = find_crossing(s, d.record, now);
	if (!crossing) {
		if (!login.debug_events)
			return d;
		const std::string where = network.to_string();
		std::string message = "login recorded from " + where;
		std::size_t known = 0;
		if (!s.ip_limit.empty()) {
			known = d.record.count_networks_within(now, s.ip_limit.back().window);
			message += " (" + std::to_string(known) + " networks within " + s.ip_limit.back().window_name() + ")";
		}
		Event e = make_event("account_guard_login_recorded", Level::debug, login, message);
		e.networks = where;
		if (login.country)
			e.countries = format_country(*login.country);
		e.count = static_cast<long long>(known);
		d.events.push_back(std::move(e));
		return d;
	}

	const Limit &limit = *crossing->limit;
	std::string reason = std::to_string(crossing->count) + " " + crossing->what + " within " +
			     limit.window_name() + " (limit " + limit.to_string() + "): " + crossing->list;
	Event e = make_event("account_guard_account_locked", Level::warning, login,
			     std::string(dry_run(s) ? "dry run: would lock account: " : "account locked: ") + reason);
	e.reason = crossing->what == "networks" ? "networks" : "countries";
	e.limit = limit.to_string();
	e.window = limit.window_name();
	e.count = static_cast<long long>(crossing->count);
	describe_evidence(e, d.record);
	d.events.push_back(std::move(e));

	if (dry_run(s))
		return d; // the history is kept; no lock is stored in a dry run

	Lock lock;
	lock.since = now;
	lock.reason = reason;
	if (login.password) {
		lock.has_fingerprint = true;
		lock.salt = login.new_salt;
		lock.fingerprint = password_fingerprint(lock.salt, login.user, *login.password);
	}
	d.record.lock = std::move(lock);
	d.write = true;
	d.locked_now = true;
	if (lockable)
		refuse_locked(s, *d.record.lock, login, d);
	return d;
}

} // namespace account_guard
