#include "profile.hh"

#include "settings.hh"

#include <algorithm>

namespace account_guard {

namespace {

constexpr std::uint32_t seconds_per_day = 86400;

bool within(std::uint32_t t, std::uint32_t now, std::int64_t window)
{
	return static_cast<std::int64_t>(t) > static_cast<std::int64_t>(now) - window;
}

// Known: first seen during the learning period, or longer ago than probation.
template <typename Entry>
bool known(const Profile &p, const Settings &s, const Entry &e, std::uint32_t now)
{
	if (!within(e.last_seen, now, s.profile_period))
		return false;
	const std::int64_t learned_until = static_cast<std::int64_t>(p.since) + s.profile_learning;
	return static_cast<std::int64_t>(e.first_seen) < learned_until ||
	       static_cast<std::int64_t>(e.first_seen) + s.probation <= static_cast<std::int64_t>(now);
}

// Touches the entry `same` finds (or adds `fresh`), most recent first, at most max entries;
// returns whether the change is worth a write.
template <typename Entry, typename Same>
bool touch(std::vector<Entry> &entries, Same same, Entry fresh, std::uint32_t now, std::uint32_t stale,
	   std::size_t max)
{
	auto it = std::find_if(entries.begin(), entries.end(), same);
	bool write = true;
	if (it != entries.end()) {
		write = it->last_seen < stale;
		fresh.first_seen = it->first_seen;
		fresh.last_seen = std::max(it->last_seen, now);
		entries.erase(it);
	}
	entries.insert(entries.begin(), fresh);
	if (entries.size() > max)
		entries.resize(max);
	return write;
}

template <typename Entry>
void drop_older(std::vector<Entry> &entries, std::uint32_t now, std::int64_t period)
{
	entries.erase(std::remove_if(entries.begin(), entries.end(),
				     [&](const Entry &e) { return !within(e.last_seen, now, period); }),
		      entries.end());
}

} // namespace

bool Profile::established(const Settings &s, std::uint32_t now) const
{
	return since != 0 && logins >= profile_learning_logins &&
	       static_cast<std::int64_t>(now) - static_cast<std::int64_t>(since) >= s.profile_learning;
}

bool Profile::knows_owner(const Settings &s, const Network &owner, std::uint32_t now) const
{
	for (const OwnerSeen &e : owners) {
		if (e.owner == owner)
			return known(*this, s, e, now);
	}
	return false;
}

bool Profile::knows_country(const Settings &s, CountryCode country, std::uint32_t now) const
{
	for (const ProfileCountry &e : countries) {
		if (e.country == country)
			return known(*this, s, e, now);
	}
	return false;
}

bool Profile::record_login(std::optional<Network> owner, std::optional<CountryCode> country, std::uint32_t now,
			   std::uint32_t stale)
{
	bool write = false;
	if (since == 0 || since > now) {
		since = now;
		write = true;
	}
	// A login counts towards learning only when it is news (a new owner, or the last one
	// older than the refresh interval): a client reconnecting for a minute is one login, and
	// the common login from a known network costs no write.
	bool news = write;
	if (owner) {
		OwnerSeen fresh{*owner, now, now};
		news |= touch(owners, [&](const OwnerSeen &e) { return e.owner == *owner; }, fresh, now, stale,
			      max_profile_owners);
	} else {
		news = true;
	}
	write |= news;
	if (news && logins < profile_learning_logins)
		logins++;
	if (country) {
		ProfileCountry fresh{*country, now, now};
		write |= touch(countries, [&](const ProfileCountry &e) { return e.country == *country; }, fresh, now,
			       stale, max_profile_countries);
	}
	return write;
}

void Profile::trim(const Settings &s, std::uint32_t now)
{
	drop_older(owners, now, s.profile_period);
	drop_older(countries, now, s.profile_period);
	const std::uint32_t oldest_day = static_cast<std::uint32_t>(
		std::max<std::int64_t>(0, (static_cast<std::int64_t>(now) - s.profile_period) / seconds_per_day));
	days.erase(std::remove_if(days.begin(), days.end(), [&](const DayCount &d) { return d.day < oldest_day; }),
		   days.end());
	if (location && !within(location->time, now, s.profile_period))
		location.reset();
}

std::uint32_t Profile::today(std::uint32_t now) const
{
	const std::uint32_t day = now / seconds_per_day;
	return !days.empty() && days.front().day == day ? days.front().count : 0;
}

void Profile::add_recipients(std::uint32_t now, long long n)
{
	const std::uint32_t day = now / seconds_per_day;
	if (days.empty() || days.front().day < day) {
		if (n <= 0)
			return;
		days.insert(days.begin(), DayCount{day, 0});
	} else if (days.front().day > day) {
		return; // a clock behind the newest day: its recipients are not worth a reorder
	}
	const long long count = static_cast<long long>(days.front().count) + n;
	days.front().count = static_cast<std::uint32_t>(std::clamp<long long>(count, 0, UINT32_MAX));
	if (days.front().count == 0)
		days.erase(days.begin());
}

std::uint32_t Profile::usual_day(const Settings &s, std::uint32_t now) const
{
	const std::uint32_t day = now / seconds_per_day;
	const std::int64_t oldest = (static_cast<std::int64_t>(now) - s.profile_period) / seconds_per_day;
	std::vector<std::uint32_t> counts;
	for (const DayCount &d : days) {
		if (d.day < day && static_cast<std::int64_t>(d.day) >= oldest)
			counts.push_back(d.count);
	}
	if (counts.size() < min_active_days)
		return 0;
	auto middle = counts.begin() + static_cast<std::ptrdiff_t>(counts.size() / 2);
	std::nth_element(counts.begin(), middle, counts.end());
	return *middle;
}

void Profile::forget_since(std::uint32_t t)
{
	owners.erase(std::remove_if(owners.begin(), owners.end(), [&](const OwnerSeen &e) { return e.first_seen >= t; }),
		     owners.end());
	countries.erase(std::remove_if(countries.begin(), countries.end(),
				       [&](const ProfileCountry &e) { return e.first_seen >= t; }),
			countries.end());
	if (location && location->time >= t)
		location.reset();
}

Network owner_of(const IpAddress &ip, std::optional<std::uint32_t> asn)
{
	if (asn && *asn != 0)
		return Network::of_asn(*asn);
	return Network::of(ip, ip.v4 ? 16 : 32);
}

} // namespace account_guard
