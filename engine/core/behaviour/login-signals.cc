#include "login-signals.hh"

#include "geo-location.hh"
#include "signal.hh"
#include "text.hh"

#include <algorithm>

namespace account_guard {

namespace {

bool listed(const std::vector<std::uint32_t> &asns, std::optional<std::uint32_t> asn)
{
	return asn && std::find(asns.begin(), asns.end(), *asn) != asns.end();
}

Signal signal_of(WatchKind kind)
{
	switch (kind) {
	case WatchKind::new_owner: return Signal::new_owner;
	case WatchKind::unfamiliar: return Signal::unfamiliar;
	case WatchKind::suspect: return Signal::suspect;
	case WatchKind::travel: return Signal::travel;
	}
	return Signal::new_owner;
}

std::string describe_login(const LoginFacts &login, const std::optional<Network> &owner)
{
	std::string out = "login from " + login.network.to_string();
	std::vector<std::string> facts;
	if (owner)
		facts.push_back(owner->to_string());
	if (login.country)
		facts.push_back(format_country(*login.country));
	if (!facts.empty())
		out += " (" + join(facts, ", ") + ")";
	return out;
}

// How much later a repeated signal is news again: a busy thief's logins renew the watch
// without an event each.
std::uint32_t renewal_slack(const Settings &s)
{
	return static_cast<std::uint32_t>(std::clamp<std::int64_t>(s.probation / 24, 1, 3600));
}

// The location is only worth rewriting when it moved or got old: a login from where the
// account already is costs no write.
bool location_changed(const std::optional<LastLocation> &stored, const LastLocation &now_at, std::uint32_t stale)
{
	if (!stored)
		return true;
	return stored->latitude_e4 != now_at.latitude_e4 || stored->longitude_e4 != now_at.longitude_e4 ||
	       stored->radius_km != now_at.radius_km || stored->time < stale;
}

GeoLocation located(const LastLocation &l)
{
	return GeoLocation{decode_degrees(l.latitude_e4), decode_degrees(l.longitude_e4), l.radius_km};
}

} // namespace

bool travel_impossible(const Settings &s, const LastLocation &from, const LastLocation &to, std::uint32_t now)
{
	return impossible_travel(located(from), from.time, located(to), now, s.travel_speed);
}

std::string list_owners(const Profile &profile)
{
	std::vector<std::string> out;
	for (const OwnerSeen &o : profile.owners)
		out.push_back(o.owner.to_string());
	return join(out, ",");
}

std::string list_profile_countries(const Profile &profile)
{
	std::vector<std::string> out;
	for (const ProfileCountry &c : profile.countries)
		out.push_back(format_country(c.country));
	return join(out, ",");
}

LoginSignals assess_login(const Settings &s, AccountRecord &record, const LoginFacts &login, std::uint32_t now,
			  std::uint32_t stale, std::vector<Event> &events)
{
	LoginSignals result;
	Profile &p = record.profile;
	const bool established = p.established(s, now);
	std::optional<Network> owner;
	if (login.ip)
		owner = owner_of(*login.ip, login.asn);
	const bool owner_known = !owner || p.knows_owner(s, *owner, now);
	const bool country_known = !login.country || p.knows_country(s, *login.country, now);
	const bool suspect = login.ip && (s.suspect_networks.find(*login.ip) != nullptr || listed(s.suspect_asns, login.asn));

	std::vector<WatchKind> fired;
	if (suspect)
		fired.push_back(WatchKind::suspect);
	if (established && !owner_known && !country_known)
		fired.push_back(WatchKind::unfamiliar);
	if (established && (!owner_known || !country_known) && login.location && p.location &&
	    travel_impossible(s, *p.location, *login.location, now))
		fired.push_back(WatchKind::travel);
	if (established && !owner_known && country_known && fired.empty())
		fired.push_back(WatchKind::new_owner);

	if (!fired.empty() && login.ip) {
		const WatchKind strongest = *std::max_element(fired.begin(), fired.end());
		const std::uint32_t until = static_cast<std::uint32_t>(std::min<std::int64_t>(now + s.probation, UINT32_MAX));
		if (record.watches.watch(login.network, strongest, until, renewal_slack(s))) {
			result.write = true;
			result.news = strongest;
			const std::string where = describe_login(login, owner);
			for (WatchKind kind : fired) {
				Event e;
				e.name = "account_guard_signal";
				e.level = Level::info;
				e.user = printable(login.user);
				e.signal = signal_name(signal_of(kind));
				e.reason = e.signal;
				e.networks = login.network.to_string();
				if (login.country)
					e.countries = format_country(*login.country);
				std::string what;
				switch (kind) {
				case WatchKind::suspect: what = " is on a suspect network"; break;
				case WatchKind::unfamiliar: what = ": owner and country new to the account"; break;
				case WatchKind::travel: what = ": impossible travel from the last login"; break;
				case WatchKind::new_owner: what = ": network owner new to the account"; break;
				}
				e.message = "signal " + e.signal + ": " + where + what + " (usual owners " +
					    (p.owners.empty() ? std::string("none") : list_owners(p)) + ", countries " +
					    (p.countries.empty() ? std::string("none") : list_profile_countries(p)) + ")" +
					    (on_probation(kind) ? "; network on probation for " + format_duration(s.probation)
								: std::string());
				events.push_back(std::move(e));
			}
		}
	}

	result.write |= p.record_login(owner, login.country, now, stale);
	if (login.location) {
		LastLocation at = *login.location;
		at.time = now;
		if (location_changed(p.location, at, stale)) {
			p.location = at;
			result.write = true;
		}
	}
	p.trim(s, now);
	record.watches.trim(now);
	return result;
}

} // namespace account_guard
