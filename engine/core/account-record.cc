#include "account-record.hh"

#include <algorithm>

namespace account_guard {

namespace {

// Layout, version 2 (fixed-width integers little-endian; "varint" is unsigned LEB128 of at
// most 32 bits):
//   u8 version=2, u8 flags (bit0 locked, bit1 the lock has a password fingerprint)
//   u32 base: the newest time in the record (the largest last-seen time or start of a newest
//     recipient bucket); every other time is stored as a varint age relative to it
//   if locked: u32 since, [if bit1: u32 salt, u16 fingerprint], varint reason_len, reason
//   varint n_networks, then per network: u8 kind (0 unknown, 1 ASN, 2 + prefix for IPv4
//     /0../32, 35 + prefix for IPv6 /0../128), ceil(prefix/8) address bytes (4 for an AS
//     number), varint age of last_seen
//   varint n_countries, then per country: 2 bytes ISO code, varint age of last_seen
//   varint n_windows, then per recipient window: varint window seconds, varint age of the
//     newest bucket (base / bucket width - newest_bucket), varint n_counts (at most 12),
//     n_counts varints (newest bucket first)
// A /24 seen within the hour costs 6 bytes, a /64 11; the default recipient windows with all
// 12 buckets used about 35. Version 1 (lock and history only, u16 counts, u32 times, a family
// and a prefix byte per network) is still read, as a record without recipient counts: an
// upgraded node keeps every lock and history; the counts in the old separate item ('r' keys)
// are left to expire. A node still on version 1 cannot read version 2 (it reports a corrupt
// record), so a cluster upgrades all its nodes together.
constexpr std::uint8_t format_version = 2;
constexpr std::uint8_t format_version_1 = 1;
constexpr std::size_t max_reason = 1024;
// Above the largest history a limit allows (max_network_limit + 1 in settings.cc).
constexpr std::size_t max_entries_decoded = 16384;
constexpr std::size_t max_windows = 16;
constexpr std::int64_t max_window_seconds = UINT32_MAX;

constexpr std::uint8_t flag_locked = 1;
constexpr std::uint8_t flag_fingerprint = 2;

constexpr std::uint8_t kind_unknown = 0;
constexpr std::uint8_t kind_asn = 1;
constexpr std::uint8_t kind_v4 = 2;        // + prefix (0..32)
constexpr std::uint8_t kind_v6 = 2 + 33;   // + prefix (0..128)
constexpr unsigned int kind_end = 2 + 33 + 129;

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
void put_varint(std::string &out, std::uint32_t v)
{
	while (v >= 0x80) {
		out.push_back(static_cast<char>((v & 0x7f) | 0x80));
		v >>= 7;
	}
	out.push_back(static_cast<char>(v));
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
	bool varint(std::uint32_t *v)
	{
		*v = 0;
		for (int shift = 0; shift < 35; shift += 7) {
			std::uint8_t b;
			if (!u8(&b))
				return false;
			if (shift == 28 && (b & 0x70) != 0)
				return false; // more than 32 bits
			*v |= static_cast<std::uint32_t>(b & 0x7f) << shift;
			if ((b & 0x80) == 0)
				return true;
		}
		return false;
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

// The network of `family` (0 unknown, 1 ASN, 4, 6) and `prefix`, its address bytes read
// from r.
bool read_network(Reader &r, std::uint8_t family, std::uint8_t prefix, Network *n)
{
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

bool decode_network_v1(Reader &r, Network *n)
{
	std::uint8_t family, prefix;
	return r.u8(&family) && r.u8(&prefix) && read_network(r, family, prefix, n);
}

bool decode_network(Reader &r, Network *n)
{
	std::uint8_t kind;
	if (!r.u8(&kind))
		return false;
	if (kind == kind_unknown)
		return read_network(r, 0, 0, n);
	if (kind == kind_asn)
		return read_network(r, 1, 32, n);
	if (kind < kind_v6)
		return read_network(r, 4, static_cast<std::uint8_t>(kind - kind_v4), n);
	if (kind < kind_end)
		return read_network(r, 6, static_cast<std::uint8_t>(kind - kind_v6), n);
	return false;
}

void encode_network(std::string &out, const Network &n)
{
	std::size_t address = 0;
	switch (n.family) {
	case Network::Family::unknown:
		put_u8(out, kind_unknown);
		break;
	case Network::Family::asn:
		put_u8(out, kind_asn);
		address = 4;
		break;
	case Network::Family::v4: {
		const unsigned int prefix = std::min<unsigned int>(n.prefix, 32);
		put_u8(out, static_cast<std::uint8_t>(kind_v4 + prefix));
		address = (prefix + 7u) / 8u;
		break;
	}
	case Network::Family::v6: {
		const unsigned int prefix = std::min<unsigned int>(n.prefix, 128);
		put_u8(out, static_cast<std::uint8_t>(kind_v6 + prefix));
		address = (prefix + 7u) / 8u;
		break;
	}
	}
	out.append(reinterpret_cast<const char *>(n.bytes.data()), address);
}

template <typename Entry>
void move_to_front_sorted(std::vector<Entry> &entries)
{
	// Our own writers keep the lists sorted; checking first spares stable_sort's buffer.
	const auto later_first = [](const Entry &a, const Entry &b) { return a.last_seen > b.last_seen; };
	if (std::is_sorted(entries.begin(), entries.end(), later_first))
		return;
	std::stable_sort(entries.begin(), entries.end(), later_first);
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

namespace {

// The time every age in a version-2 record is relative to: the newest time in it.
std::uint32_t base_time(const AccountRecord &record)
{
	std::uint64_t base = 0;
	for (const NetworkSeen &e : record.networks)
		base = std::max<std::uint64_t>(base, e.last_seen);
	for (const CountrySeen &e : record.countries)
		base = std::max<std::uint64_t>(base, e.last_seen);
	for (const RecipientWindow &w : record.recipients.windows) {
		if (!w.counts.empty())
			base = std::max<std::uint64_t>(base, static_cast<std::uint64_t>(w.newest_bucket) *
								     static_cast<std::uint64_t>(w.bucket_width()));
	}
	return static_cast<std::uint32_t>(std::min<std::uint64_t>(base, UINT32_MAX));
}

std::uint32_t age(std::uint32_t base, std::uint32_t time) { return time < base ? base - time : 0; }

// Version 1: lock and login history, no recipient counts.
std::optional<AccountRecord> decode_v1(Reader &r)
{
	AccountRecord record;
	std::uint8_t flags;
	if (!r.u8(&flags) || (flags & ~1u) != 0)
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
		if (!decode_network_v1(r, &e.network) || !r.u32(&e.last_seen))
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
	return record;
}

// Version 2 after its version byte.
std::optional<AccountRecord> decode_v2(Reader &r)
{
	AccountRecord record;
	std::uint8_t flags;
	std::uint32_t base;
	if (!r.u8(&flags) || (flags & ~(flag_locked | flag_fingerprint)) != 0 ||
	    (flags & (flag_locked | flag_fingerprint)) == flag_fingerprint || !r.u32(&base))
		return std::nullopt;
	if (flags & flag_locked) {
		Lock lock;
		std::uint32_t reason_len;
		std::string_view reason;
		if (!r.u32(&lock.since))
			return std::nullopt;
		if (flags & flag_fingerprint) {
			lock.has_fingerprint = true;
			if (!r.u32(&lock.salt) || !r.u16(&lock.fingerprint))
				return std::nullopt;
		}
		if (!r.varint(&reason_len) || reason_len > max_reason || !r.bytes(reason_len, &reason))
			return std::nullopt;
		lock.reason = std::string(reason);
		record.lock = std::move(lock);
	}
	auto time = [&](std::uint32_t *t) {
		std::uint32_t a;
		if (!r.varint(&a) || a > base)
			return false;
		*t = base - a;
		return true;
	};
	std::uint32_t count;
	if (!r.varint(&count) || count > max_entries_decoded)
		return std::nullopt;
	record.networks.reserve(count);
	for (std::uint32_t i = 0; i < count; i++) {
		NetworkSeen e;
		if (!decode_network(r, &e.network) || !time(&e.last_seen))
			return std::nullopt;
		record.networks.push_back(e);
	}
	if (!r.varint(&count) || count > max_entries_decoded)
		return std::nullopt;
	record.countries.reserve(count);
	for (std::uint32_t i = 0; i < count; i++) {
		CountrySeen e;
		std::string_view code;
		if (!r.bytes(2, &code) || !time(&e.last_seen) || !parse_country(code))
			return std::nullopt;
		e.country = {code[0], code[1]};
		record.countries.push_back(e);
	}
	if (!r.varint(&count) || count > max_windows)
		return std::nullopt;
	for (std::uint32_t i = 0; i < count; i++) {
		RecipientWindow w;
		std::uint32_t window, bucket_age, counts;
		if (!r.varint(&window) || window == 0 || !r.varint(&bucket_age) || !r.varint(&counts) ||
		    counts > buckets_per_window)
			return std::nullopt;
		w.window = window;
		const std::uint32_t base_bucket = static_cast<std::uint32_t>(base / w.bucket_width());
		if (bucket_age > base_bucket)
			return std::nullopt;
		w.newest_bucket = base_bucket - bucket_age;
		for (std::uint32_t j = 0; j < counts; j++) {
			std::uint32_t c;
			if (!r.varint(&c))
				return std::nullopt;
			w.counts.push_back(c);
		}
		if (record.recipients.find(w.window) != nullptr)
			return std::nullopt;
		record.recipients.windows.push_back(std::move(w));
	}
	if (!r.at_end())
		return std::nullopt;
	return record;
}

} // namespace

std::string encode(const AccountRecord &record)
{
	const std::uint32_t base = base_time(record);
	std::string out;
	out.reserve(16 + record.networks.size() * 20 + record.countries.size() * 5 +
		    record.recipients.windows.size() * (8 + buckets_per_window * 2) +
		    (record.lock ? record.lock->reason.size() + 16 : 0));
	put_u8(out, format_version);
	std::uint8_t flags = 0;
	if (record.lock)
		flags = record.lock->has_fingerprint ? flag_locked | flag_fingerprint : flag_locked;
	put_u8(out, flags);
	put_u32(out, base);
	if (record.lock) {
		const Lock &lock = *record.lock;
		put_u32(out, lock.since);
		if (lock.has_fingerprint) {
			put_u32(out, lock.salt);
			put_u16(out, lock.fingerprint);
		}
		std::size_t len = std::min(lock.reason.size(), max_reason);
		put_varint(out, static_cast<std::uint32_t>(len));
		out.append(lock.reason, 0, len);
	}
	std::size_t count = std::min(record.networks.size(), max_entries_decoded);
	put_varint(out, static_cast<std::uint32_t>(count));
	for (std::size_t i = 0; i < count; i++) {
		encode_network(out, record.networks[i].network);
		put_varint(out, age(base, record.networks[i].last_seen));
	}
	count = std::min(record.countries.size(), max_entries_decoded);
	put_varint(out, static_cast<std::uint32_t>(count));
	for (std::size_t i = 0; i < count; i++) {
		out.append(record.countries[i].country.data(), 2);
		put_varint(out, age(base, record.countries[i].last_seen));
	}
	// Windows the decoder would refuse (none that settings allow) are left out.
	std::vector<const RecipientWindow *> windows;
	for (const RecipientWindow &w : record.recipients.windows) {
		if (windows.size() < max_windows && w.window > 0 && w.window <= max_window_seconds)
			windows.push_back(&w);
	}
	put_varint(out, static_cast<std::uint32_t>(windows.size()));
	for (const RecipientWindow *w : windows) {
		put_varint(out, static_cast<std::uint32_t>(w->window));
		const std::uint32_t base_bucket = static_cast<std::uint32_t>(base / w->bucket_width());
		put_varint(out, age(base_bucket, w->newest_bucket));
		const std::size_t counts = std::min<std::size_t>(w->counts.size(), buckets_per_window);
		put_varint(out, static_cast<std::uint32_t>(counts));
		for (std::size_t j = 0; j < counts; j++)
			put_varint(out, w->counts[j]);
	}
	return out;
}

std::optional<AccountRecord> decode(std::string_view data)
{
	Reader r(data);
	std::uint8_t version;
	if (!r.u8(&version))
		return std::nullopt;
	std::optional<AccountRecord> record;
	if (version == format_version)
		record = decode_v2(r);
	else if (version == format_version_1)
		record = decode_v1(r);
	if (!record)
		return std::nullopt;
	move_to_front_sorted(record->networks);
	move_to_front_sorted(record->countries);
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
