#include "watch-list.hh"

#include "text.hh"

#include <algorithm>

namespace account_guard {

const char *watch_kind_name(WatchKind kind)
{
	switch (kind) {
	case WatchKind::new_owner: return "new_owner";
	case WatchKind::unfamiliar: return "unfamiliar";
	case WatchKind::suspect: return "suspect";
	case WatchKind::travel: return "travel";
	}
	return "unknown";
}

bool on_probation(WatchKind kind) { return kind != WatchKind::new_owner; }

const Watch *WatchList::find(const Network &network, std::uint32_t now) const
{
	const Watch *best = nullptr;
	for (const Watch &w : items) {
		if (w.until > now && w.network == network && (!best || w.kind > best->kind))
			best = &w;
	}
	return best;
}

const Watch *WatchList::find(const IpAddress &ip, std::uint32_t now) const
{
	const Watch *best = nullptr;
	for (const Watch &w : items) {
		if (w.until > now && w.network.contains(ip) && (!best || w.kind > best->kind))
			best = &w;
	}
	return best;
}

bool WatchList::watch(const Network &network, WatchKind kind, std::uint32_t until, std::uint32_t slack)
{
	for (Watch &w : items) {
		if (w.network != network)
			continue;
		const bool stronger = kind > w.kind;
		const bool longer = until > w.until + slack;
		if (!stronger && !longer)
			return false;
		w.kind = std::max(w.kind, kind);
		w.until = std::max(w.until, until);
		return true;
	}
	items.push_back(Watch{network, until, kind});
	if (items.size() > max_watches) {
		// The one ending soonest goes: the newest signals matter most.
		auto soonest = std::min_element(items.begin(), items.end(),
						[](const Watch &a, const Watch &b) { return a.until < b.until; });
		items.erase(soonest);
	}
	return true;
}

void WatchList::trim(std::uint32_t now)
{
	items.erase(std::remove_if(items.begin(), items.end(), [&](const Watch &w) { return w.until <= now; }),
		    items.end());
}

std::string WatchList::probation_list(std::uint32_t now) const
{
	std::vector<std::string> out;
	for (const Watch &w : items) {
		if (w.until > now && on_probation(w.kind))
			out.push_back(w.network.to_string());
	}
	return join(out, ",");
}

} // namespace account_guard
