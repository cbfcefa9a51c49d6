#include "account-record.hh"

#include <algorithm>

namespace account_guard {

namespace {

template <typename Entry>
void trim_entries(std::vector<Entry> &entries, std::uint32_t now, std::int64_t window,
		  std::size_t max_entries)
{
	entries.erase(std::remove_if(entries.begin(), entries.end(),
				     [&](const Entry &e) {
					     return static_cast<std::int64_t>(e.last_seen) <=
						    static_cast<std::int64_t>(now) - window;
				     }),
		      entries.end());
	if (entries.size() > max_entries)
		entries.resize(max_entries);
}

template <typename Entry>
bool seen_within(const Entry &e, std::uint32_t now, std::int64_t window)
{
	return static_cast<std::int64_t>(e.last_seen) > static_cast<std::int64_t>(now) - window;
}

template <typename Entry>
std::vector<const Entry *> within(const std::vector<Entry> &entries, std::uint32_t now,
				  std::int64_t window)
{
	std::vector<const Entry *> result;
	for (const Entry &e : entries) {
		if (seen_within(e, now, window))
			result.push_back(&e);
	}
	return result;
}

template <typename Entry>
std::size_t count_within(const std::vector<Entry> &entries, std::uint32_t now, std::int64_t window)
{
	return static_cast<std::size_t>(std::count_if(entries.begin(), entries.end(), [&](const Entry &e) {
		return seen_within(e, now, window);
	}));
}

// Marks the entry matching `same` as seen at `now` (adding `fresh` if there is none) and keeps
// the list ordered most recent first, moving one entry in O(n) rather than re-sorting.
// Returns the entry's previous last-seen time, 0 if it is new.
template <typename Entry, typename Match>
std::uint32_t touch(std::vector<Entry> &entries, std::uint32_t now, Match same, Entry fresh)
{
	std::uint32_t previous = 0;
	auto it = std::find_if(entries.begin(), entries.end(), same);
	if (it != entries.end()) {
		previous = it->last_seen;
		// Time never runs backwards for an entry (clock skew between nodes).
		fresh.last_seen = std::max(it->last_seen, now);
		entries.erase(it);
	}
	auto at = std::find_if(entries.begin(), entries.end(),
			       [&](const Entry &e) { return e.last_seen <= fresh.last_seen; });
	entries.insert(at, fresh);
	return previous;
}

} // namespace

std::uint32_t AccountRecord::touch_network(const Network &network, std::uint32_t now)
{
	return touch(networks, now, [&](const NetworkSeen &e) { return e.network == network; },
		     NetworkSeen{network, now});
}

std::uint32_t AccountRecord::touch_country(CountryCode country, std::uint32_t now)
{
	return touch(countries, now, [&](const CountrySeen &e) { return e.country == country; },
		     CountrySeen{country, now});
}

std::vector<const NetworkSeen *> AccountRecord::networks_within(std::uint32_t now,
								std::int64_t window) const
{
	return within(networks, now, window);
}

std::vector<const CountrySeen *> AccountRecord::countries_within(std::uint32_t now,
								 std::int64_t window) const
{
	return within(countries, now, window);
}

std::size_t AccountRecord::count_networks_within(std::uint32_t now, std::int64_t window) const
{
	return count_within(networks, now, window);
}

std::size_t AccountRecord::count_countries_within(std::uint32_t now, std::int64_t window) const
{
	return count_within(countries, now, window);
}

void AccountRecord::trim_networks(std::uint32_t now, std::int64_t window, std::size_t max_entries)
{
	trim_entries(networks, now, window, max_entries);
}

void AccountRecord::trim_countries(std::uint32_t now, std::int64_t window, std::size_t max_entries)
{
	trim_entries(countries, now, window, max_entries);
}

std::string format_country(CountryCode country)
{
	return std::string(country.data(), 2);
}

std::optional<CountryCode> parse_country(std::string_view text)
{
	if (text.size() != 2)
		return std::nullopt;
	CountryCode code{};
	for (int i = 0; i < 2; i++) {
		char c = text[static_cast<std::size_t>(i)];
		if (c >= 'a' && c <= 'z')
			c = static_cast<char>(c - 'a' + 'A');
		if (c < 'A' || c > 'Z')
			return std::nullopt;
		code[static_cast<std::size_t>(i)] = c;
	}
	return code;
}

} // namespace account_guard