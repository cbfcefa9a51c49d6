#include "evidence.hh"

#include <algorithm>

namespace account_guard::replay {

void Evidence::login(const Settings &settings, std::string_view user, const IpAddress &ip,
		     std::int64_t time, LineRef where)
{
	const Network network = Network::of(ip, ip.v4 ? settings.ipv4_prefix : settings.ipv6_prefix);
	std::vector<Seen> &list = seen_[std::string(user)];
	auto it = std::find_if(list.begin(), list.end(), [&](const Seen &s) { return s.network == network; });
	if (it != list.end()) {
		list.erase(it);
	} else if (list.size() >= kept) {
		list.erase(list.begin()); // the least recently seen network
	}
	list.push_back(Seen{network, time, where}); // most recent last
}

std::vector<LineRef> Evidence::lines(std::string_view user, std::int64_t now, std::int64_t window) const
{
	std::vector<LineRef> out;
	auto it = seen_.find(std::string(user));
	if (it == seen_.end())
		return out;
	for (const Seen &s : it->second)
		if (s.time >= now - window)
			out.push_back(s.where);
	return out;
}

} // namespace account_guard::replay
