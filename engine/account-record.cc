#include "account-record.hh"

#include <algorithm>

namespace account_guard {

namespace {

// Layout, version 1 (all integers little-endian):
//   u8 version=1, u8 flags (bit0 locked)
//   if locked: u32 since, u8 has_fingerprint, u32 salt, u16 fingerprint, u16 reason_len, reason
//   u16 n_networks, then per network: u8 family (0 unknown, 1 ASN, 4, 6), u8 prefix,
//     ceil(prefix/8) address bytes (the AS number for family 1), u32 last_seen
//   u16 n_countries, then per country: 2 bytes ISO code, u32 last_seen
// A /24 costs 9 bytes, so a default history of ~11 networks stays near 100 bytes.
constexpr std::uint8_t format_version = 1;
constexpr std::size_t max_reason = 1024;
// Above the largest history a limit allows (max_network_limit + 1 in settings.cc).
constexpr std::size_t max_entries_decoded = 16384;

void put_u8(std::string &out, std::uint8_t v) { out.push_back(static_cast<char>(v)); }
void put_u16(std::string &out, std::uint16_t v)
{
	put_u8(out, static_cast<std::uint8_t>(v));
	put_u8(out, static_cast<std::uint8_t>(v >> 8));
}
void put_u32(std::string &out, std::uint32_t v)
{
	put_u16(out, static_cast<std::uint16_t>(v));
	put_u16(out, static_cast<std::uint16_t>(v >> 16));
}

class Reader {
public:
	explicit Reader(std::string_view data) : data_(data) {}
	bool u8(std::uint8_t *v)
	{
		if (pos_ + 1 > data_.size())
			return false;
		*v = static_cast<std::uint8_t>(data_[pos_++]);
		return true;
	}
	bool u16(std::uint16_t *v)
	{
		std::uint8_t a, b;
		if (!u8(&a) || !u8(&b))
			return false;
		*v = static_cast<std::uint16_t>(a | (b << 8));
		return true;
	}
	bool u32(std::uint32_t *v)
	{
		std::uint16_t a, b;
		if (!u16(&a) || !u16(&b))
			return false;
		*v = static_cast<std::uint32_t>(a) | (static_cast<std::uint32_t>(b) << 16);
		return true;
	}
	bool bytes(std::size_t n, std::string_view *v)
	{
		if (n > data_.size() - pos_)
			return false;
		*v = data_.substr(pos_, n);
		pos_ += n;
		return true;
	}
	bool at_end() const { return pos_ == data_.size(); }

private:
	std::string_view data_;
	std::size_t pos_ = 0;
};

bool decode_network(Reader &r, Network *n)
{
	std::uint8_t family, prefix;
	if (!r.u8(&family) || !r.u8(&prefix))
		return false;
	switch (family) {
	case 0:
		if (prefix != 0)
			return false;
		*n = Network::unknown();
		return true;
	case 1: {
		std::string_view asn;
		if (prefix != 32 || !r.bytes(4, &asn))
			return false;
		n->family = Network::Family::asn;
		n->prefix = 32;
		n->bytes.fill(0);
		std::copy(asn.begin(), asn.end(), n->bytes.begin());
		return true;
	}
	case 4:
		if (prefix > 32)
			return false;
		n->family = Network::Family::v4;
		break;
	case 6:
		if (prefix > 128)
			return false;
		n->family = Network::Family::v6;
		break;
	default:
		return false;
	}
	n->prefix = prefix;
	n->bytes.fill(0);
	std::string_view addr;
	if (!r.bytes((prefix + 7u) / 8u, &addr))
		return false;
	std::copy(addr.begin(), addr.end(), n->bytes.begin());
	// Re-normalise: host bits from a foreign writer must not create distinct twins.
	IpAddress ip;
	ip.v4 = n->family == Network::Family::v4;
	ip.bytes = n->bytes;
	*n = Network::of(ip, prefix);
	return true;
}

template <typename Entry>
void move_to_front_sorted(std::vector<Entry> &entries)
{
	std::stable_sort(entries.begin(), entries.end(),
			 [](const Entry &a, const Entry &b) { return a.last_seen > b.last_seen; });
}

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
std::vector<const Entry *> within(const std::vector<Entry> &entries, std::uint32_t now,
				  std::int64_t window)
{
	std::vector<const Entry *> result;
	for (const Entry &e : entries) {
		if (static_cast<std::int64_t>(e.last_seen) > static_cast<std::int64_t>(now) - window)
			result.push_back(&e);
	}
	return result;
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

void AccountRecord::trim_networks(std::uint32_t now, std::int64_t window, std::size_t max_entries)
{
	trim_entries(networks, now, window, max_entries);
}

void AccountRecord::trim_countries(std::uint32_t now, std::int64_t window, std::size_t max_entries)
{
	trim_entries(countries, now, window, max_entries);
}

std::string encode(const AccountRecord &record)
{
	std::string out;
	out.reserve(16 + record.networks.size() * 22 + record.countries.size() * 6 +
		    (record.lock ? record.lock->reason.size() + 16 : 0));
	put_u8(out, format_version);
	put_u8(out, record.lock ? 1 : 0);
	if (record.lock) {
		const Lock &lock = *record.lock;
		put_u32(out, lock.since);
		put_u8(out, lock.has_fingerprint ? 1 : 0);
		put_u32(out, lock.salt);
		put_u16(out, lock.fingerprint);
		std::size_t len = std::min(lock.reason.size(), max_reason);
		put_u16(out, static_cast<std::uint16_t>(len));
		out.append(lock.reason, 0, len);
	}
	put_u16(out, static_cast<std::uint16_t>(std::min(record.networks.size(), max_entries_decoded)));
	std::size_t n = 0;
	for (const NetworkSeen &e : record.networks) {
		if (n++ == max_entries_decoded)
			break;
		put_u8(out, static_cast<std::uint8_t>(e.network.family));
		put_u8(out, e.network.prefix);
		out.append(reinterpret_cast<const char *>(e.network.bytes.data()),
			   (e.network.prefix + 7u) / 8u);
		put_u32(out, e.last_seen);
	}
	put_u16(out, static_cast<std::uint16_t>(std::min(record.countries.size(), max_entries_decoded)));
	n = 0;
	for (const CountrySeen &e : record.countries) {
		if (n++ == max_entries_decoded)
			break;
		out.append(e.country.data(), 2);
		put_u32(out, e.last_seen);
	}
	return out;
}

std::optional<AccountRecord> decode(std::string_view data)
{
	Reader r(data);
	AccountRecord record;
	std::uint8_t version, flags;
	if (!r.u8(&version) || version != format_version || !r.u8(&flags) || (flags & ~1u) != 0)
		return std::nullopt;
	if (flags & 1) {
		Lock lock;
		std::uint8_t has_fp;
		std::uint16_t reason_len;
		std::string_view reason;
		if (!r.u32(&lock.since) || !r.u8(&has_fp) || has_fp > 1 || !r.u32(&lock.salt) ||
		    !r.u16(&lock.fingerprint) || !r.u16(&reason_len) || reason_len > max_reason ||
		    !r.bytes(reason_len, &reason))
			return std::nullopt;
		lock.has_fingerprint = has_fp == 1;
		lock.reason = std::string(reason);
		record.lock = std::move(lock);
	}
	std::uint16_t count;
	if (!r.u16(&count) || count > max_entries_decoded)
		return std::nullopt;
	record.networks.reserve(count);
	for (unsigned int i = 0; i < count; i++) {
		NetworkSeen e;
		if (!decode_network(r, &e.network) || !r.u32(&e.last_seen))
			return std::nullopt;
		record.networks.push_back(e);
	}
	if (!r.u16(&count) || count > max_entries_decoded)
		return std::nullopt;
	record.countries.reserve(count);
	for (unsigned int i = 0; i < count; i++) {
		CountrySeen e;
		std::string_view code;
		if (!r.bytes(2, &code) || !r.u32(&e.last_seen) || !parse_country(code))
			return std::nullopt;
		e.country = {code[0], code[1]};
		record.countries.push_back(e);
	}
	if (!r.at_end())
		return std::nullopt;
	move_to_front_sorted(record.networks);
	move_to_front_sorted(record.countries);
	return record;
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
