#include "evidence.hh"

#include <algorithm>

namespace account_guard::replay {

void Evidence::login(const Network &network, std::int64_t time, LineRef where)
{
	auto it = std::find_if(seen_.begin(), seen_.end(), [&](const Seen &s) { return s.network == network; });
	if (it != seen_.end()) {
		seen_.erase(it);
	} else if (seen_.size() >= kept) {
		seen_.erase(seen_.begin()); // the least recently seen network
	}
	seen_.push_back(Seen{network, time, where});
}

std::vector<LineRef> Evidence::lines(std::int64_t now, std::int64_t window) const
{
	std::vector<LineRef> out;
	for (const Seen &s : seen_)
		if (s.time >= now - window)
			out.push_back(s.where);
	return out;
}

} // namespace account_guard::replay
