// The account record's stored form (see account-record.hh): encode() and the untrusted-input
// decode() of versions 2 and 1.
#include "account-record.hh"

#include "byte-codec.hh"

#include <algorithm>

namespace account_guard {

namespace {

// Layout, version 2 (fixed-width integers little-endian; "varint" is unsigned LEB128 of at
// most 32 bits):
//   u8 version=2, u8 flags (bit0 locked, bit1 the lock has a password fingerprint: written
//     by earlier versions only, read so that their locks are kept; this version keeps the
//     lock in an item of its own, lock-item.hh, and writes flags 0)
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
// Version 3 appends the low flyer's state (behaviour/), ages relative to the same base:
//   u8 has_behaviour (0: none of the following, an account that never logged in since the
//     upgrade; 1: all of them)
//   profile: u32 since (0: none), varint logins, varint n_owners, per owner: network as
//     above, varint age of first_seen, varint age of last_seen; varint n_countries, per
//     country: 2 bytes, two varint ages; u8 has_location [i32 latitude_e4, i32 longitude_e4,
//     u16 radius_km, varint age of its time]; varint n_days, per day (newest first): varint
//     base day (base / 86400) - day, varint count
//   watches: varint n, per watch: network, u8 kind, u32 until (absolute: it lies ahead)
//   probation windows, new-recipient windows: each like the recipient windows
//   incident: u8 present [u32 since, u32 last_strike, u8 strikes, u8 signals, u8 held,
//     varint n_refused, n u32 fingerprints]
// A /24 seen within the hour costs 6 bytes, a /64 11; the default recipient windows with all
// 12 buckets used about 35; a typical profile (2 owners, 1 country, a location, 20 active
// days) about 70. Version 1 (lock and history only, u16 counts, u32 times, a family
// and a prefix byte per network) is still read, as a record without recipient counts: an
// upgraded node keeps every lock and history; the counts in the old separate item ('r' keys)
// are left to expire. A node still on version 1 cannot read version 2 (it reports a corrupt
// record), so a cluster upgrades all its nodes together.
constexpr std::uint8_t format_version = 3;
constexpr std::uint8_t format_version_2 = 2;
constexpr std::uint8_t format_version_1 = 1;
constexpr std::size_t max_reason = 1024;
// Above the largest history a limit allows (max_network_limit + 1 in settings.cc).
constexpr std::size_t max_entries_decoded = 16384;
constexpr std::size_t max_windows = 16;
constexpr std::size_t max_profile_days = 400; // one a day over the longest profile period
constexpr std::uint32_t seconds_per_day = 86400;
constexpr std::int64_t max_window_seconds = UINT32_MAX;

constexpr std::uint8_t flag_locked = 1;
constexpr std::uint8_t flag_fingerprint = 2;

constexpr std::uint8_t kind_unknown = 0;
constexpr std::uint8_t kind_asn = 1;
constexpr std::uint8_t kind_v4 = 2;        // + prefix (0..32)
constexpr std::uint8_t kind_v6 = 2 + 33;   // + prefix (0..128)
constexpr unsigned int kind_end = 2 + 33 + 129;

// The network of `family` (0 unknown, 1 ASN, 4, 6) and `prefix`, its address bytes read
// from r.
bool read_network(ByteReader &r, std::uint8_t family, std::uint8_t prefix, Network *n)
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

bool decode_network_v1(ByteReader &r, Network *n)
{
	std::uint8_t family, prefix;
	return r.u8(&family) && r.u8(&prefix) && read_network(r, family, prefix, n);
}

bool decode_network(ByteReader &r, Network *n)
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

} // namespace

namespace {

// The time every age in a version-2 record is relative to: the newest time in it.
std::uint32_t base_time(const AccountRecord &record)
{
	std::uint64_t base = 0;
	for (const NetworkSeen &e : record.networks)
		base = std::max<std::uint64_t>(base, e.last_seen);
	for (const CountrySeen &e : record.countries)
		base = std::max<std::uint64_t>(base, e.last_seen);
	for (const RecipientRecord *r : {&record.recipients, &record.probation_recipients, &record.new_recipients}) {
		for (const RecipientWindow &w : r->windows) {
			if (!w.counts.empty())
				base = std::max<std::uint64_t>(base, static_cast<std::uint64_t>(w.newest_bucket) *
									     static_cast<std::uint64_t>(w.bucket_width()));
		}
	}
	const Profile &p = record.profile;
	for (const OwnerSeen &e : p.owners)
		base = std::max<std::uint64_t>(base, std::max(e.first_seen, e.last_seen));
	for (const ProfileCountry &e : p.countries)
		base = std::max<std::uint64_t>(base, std::max(e.first_seen, e.last_seen));
	if (p.location)
		base = std::max<std::uint64_t>(base, p.location->time);
	for (const DayCount &d : p.days)
		base = std::max<std::uint64_t>(base, static_cast<std::uint64_t>(d.day) * seconds_per_day);
	base = std::max<std::uint64_t>(base, std::max(record.incident.since, record.incident.last_strike));
	return static_cast<std::uint32_t>(std::min<std::uint64_t>(base, UINT32_MAX));
}

std::uint32_t age(std::uint32_t base, std::uint32_t time) { return time < base ? base - time : 0; }

bool decode_windows(ByteReader &r, std::uint32_t base, RecipientRecord *record)
{
	std::uint32_t count;
	if (!r.varint(&count) || count > max_windows)
		return false;
	for (std::uint32_t i = 0; i < count; i++) {
		RecipientWindow w;
		std::uint32_t window, bucket_age, counts;
		if (!r.varint(&window) || window == 0 || !r.varint(&bucket_age) || !r.varint(&counts) ||
		    counts > buckets_per_window)
			return false;
		w.window = window;
		const std::uint32_t base_bucket = static_cast<std::uint32_t>(base / w.bucket_width());
		if (bucket_age > base_bucket)
			return false;
		w.newest_bucket = base_bucket - bucket_age;
		for (std::uint32_t j = 0; j < counts; j++) {
			std::uint32_t c;
			if (!r.varint(&c))
				return false;
			w.counts.push_back(c);
		}
		if (record->find(w.window) != nullptr)
			return false;
		record->windows.push_back(std::move(w));
	}
	return true;
}

void encode_windows(std::string &out, std::uint32_t base, const RecipientRecord &record)
{
	// Windows the decoder would refuse (none that settings allow) are left out.
	std::vector<const RecipientWindow *> windows;
	for (const RecipientWindow &w : record.windows) {
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
}

bool decode_behaviour(ByteReader &r, std::uint32_t base, AccountRecord *record)
{
	auto time = [&](std::uint32_t *t) {
		std::uint32_t a;
		if (!r.varint(&a) || a > base)
			return false;
		*t = base - a;
		return true;
	};
	std::uint8_t present;
	if (!r.u8(&present) || present > 1)
		return false;
	if (present == 0)
		return true;
	Profile &p = record->profile;
	std::uint32_t count;
	if (!r.u32(&p.since) || !r.varint(&p.logins) || !r.varint(&count) || count > max_profile_owners)
		return false;
	for (std::uint32_t i = 0; i < count; i++) {
		OwnerSeen e;
		if (!decode_network(r, &e.owner) || !time(&e.first_seen) || !time(&e.last_seen))
			return false;
		p.owners.push_back(e);
	}
	if (!r.varint(&count) || count > max_profile_countries)
		return false;
	for (std::uint32_t i = 0; i < count; i++) {
		ProfileCountry e;
		std::string_view code;
		if (!r.bytes(2, &code) || !parse_country(code) || !time(&e.first_seen) || !time(&e.last_seen))
			return false;
		e.country = {code[0], code[1]};
		p.countries.push_back(e);
	}
	std::uint8_t has_location;
	if (!r.u8(&has_location) || has_location > 1)
		return false;
	if (has_location) {
		LastLocation l;
		std::uint32_t lat, lon;
		if (!r.u32(&lat) || !r.u32(&lon) || !r.u16(&l.radius_km) || !time(&l.time))
			return false;
		l.latitude_e4 = static_cast<std::int32_t>(lat);
		l.longitude_e4 = static_cast<std::int32_t>(lon);
		if (l.latitude_e4 < -900000 || l.latitude_e4 > 900000 || l.longitude_e4 < -1800000 ||
		    l.longitude_e4 > 1800000)
			return false;
		p.location = l;
	}
	if (!r.varint(&count) || count > max_profile_days)
		return false;
	const std::uint32_t base_day = base / seconds_per_day;
	for (std::uint32_t i = 0; i < count; i++) {
		DayCount d;
		std::uint32_t day_age;
		if (!r.varint(&day_age) || day_age > base_day || !r.varint(&d.count))
			return false;
		d.day = base_day - day_age;
		p.days.push_back(d);
	}
	if (!r.varint(&count) || count > max_watches)
		return false;
	for (std::uint32_t i = 0; i < count; i++) {
		Watch w;
		std::uint8_t kind;
		if (!decode_network(r, &w.network) || !r.u8(&kind) || kind > static_cast<std::uint8_t>(WatchKind::travel) ||
		    !r.u32(&w.until))
			return false;
		w.kind = static_cast<WatchKind>(kind);
		record->watches.items.push_back(w);
	}
	if (!decode_windows(r, base, &record->probation_recipients) || !decode_windows(r, base, &record->new_recipients))
		return false;
	std::uint8_t has_incident;
	if (!r.u8(&has_incident) || has_incident > 1)
		return false;
	if (has_incident) {
		Incident &inc = record->incident;
		std::uint8_t held;
		if (!r.u32(&inc.since) || !r.u32(&inc.last_strike) || !r.u8(&inc.strikes) || !r.u8(&inc.signals) ||
		    !r.u8(&held) || held > 1 || !r.varint(&count) || count > max_refused_kept)
			return false;
		inc.held = held == 1;
		for (std::uint32_t i = 0; i < count; i++) {
			std::uint32_t fp;
			if (!r.u32(&fp))
				return false;
			inc.refused.push_back(fp);
		}
	}
	return true;
}

void encode_behaviour(std::string &out, std::uint32_t base, const AccountRecord &record)
{
	const Profile &p = record.profile;
	const bool present = !p.empty() || !p.owners.empty() || !p.countries.empty() || p.location ||
			     !record.watches.items.empty() || !record.probation_recipients.windows.empty() ||
			     !record.new_recipients.windows.empty() || record.incident.since != 0;
	put_u8(out, present ? 1 : 0);
	if (!present)
		return;
	put_u32(out, p.since);
	put_varint(out, p.logins);
	const std::size_t owners = std::min(p.owners.size(), max_profile_owners);
	put_varint(out, static_cast<std::uint32_t>(owners));
	for (std::size_t i = 0; i < owners; i++) {
		encode_network(out, p.owners[i].owner);
		put_varint(out, age(base, p.owners[i].first_seen));
		put_varint(out, age(base, p.owners[i].last_seen));
	}
	const std::size_t countries = std::min(p.countries.size(), max_profile_countries);
	put_varint(out, static_cast<std::uint32_t>(countries));
	for (std::size_t i = 0; i < countries; i++) {
		out.append(p.countries[i].country.data(), 2);
		put_varint(out, age(base, p.countries[i].first_seen));
		put_varint(out, age(base, p.countries[i].last_seen));
	}
	put_u8(out, p.location ? 1 : 0);
	if (p.location) {
		put_u32(out, static_cast<std::uint32_t>(p.location->latitude_e4));
		put_u32(out, static_cast<std::uint32_t>(p.location->longitude_e4));
		put_u16(out, p.location->radius_km);
		put_varint(out, age(base, p.location->time));
	}
	const std::uint32_t base_day = base / seconds_per_day;
	const std::size_t days = std::min(p.days.size(), max_profile_days);
	put_varint(out, static_cast<std::uint32_t>(days));
	for (std::size_t i = 0; i < days; i++) {
		put_varint(out, age(base_day, p.days[i].day));
		put_varint(out, p.days[i].count);
	}
	const std::size_t watches = std::min(record.watches.items.size(), max_watches);
	put_varint(out, static_cast<std::uint32_t>(watches));
	for (std::size_t i = 0; i < watches; i++) {
		const Watch &w = record.watches.items[i];
		encode_network(out, w.network);
		put_u8(out, static_cast<std::uint8_t>(w.kind));
		put_u32(out, w.until);
	}
	encode_windows(out, base, record.probation_recipients);
	encode_windows(out, base, record.new_recipients);
	const Incident &inc = record.incident;
	put_u8(out, inc.since != 0 ? 1 : 0);
	if (inc.since != 0) {
		put_u32(out, inc.since);
		put_u32(out, inc.last_strike);
		put_u8(out, inc.strikes);
		put_u8(out, inc.signals);
		put_u8(out, inc.held ? 1 : 0);
		const std::size_t refused = std::min(inc.refused.size(), max_refused_kept);
		put_varint(out, static_cast<std::uint32_t>(refused));
		for (std::size_t i = inc.refused.size() - refused; i < inc.refused.size(); i++)
			put_u32(out, inc.refused[i]);
	}
}

// Version 1: lock and login history, no recipient counts.
std::optional<AccountRecord> decode_v1(ByteReader &r)
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

// Versions 2 and 3 after the version byte.
std::optional<AccountRecord> decode_v2(ByteReader &r, std::uint8_t version)
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
	if (!decode_windows(r, base, &record.recipients))
		return std::nullopt;
	if (version >= format_version && !decode_behaviour(r, base, &record))
		return std::nullopt;
	if (!r.at_end())
		return std::nullopt;
	return record;
}

} // namespace

std::string encode(const AccountRecord &record)
{
	// The lock is not part of the record's value: it lives in its own item (lock-item.hh),
	// which no write of the record can replace or drop.
	const std::uint32_t base = base_time(record);
	std::string out;
	out.reserve(16 + record.networks.size() * 20 + record.countries.size() * 5 +
		    record.recipients.windows.size() * (8 + buckets_per_window * 2));
	put_u8(out, format_version);
	put_u8(out, 0); // flags: no lock
	put_u32(out, base);
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
	encode_windows(out, base, record.recipients);
	encode_behaviour(out, base, record);
	return out;
}

std::optional<AccountRecord> decode(std::string_view data)
{
	ByteReader r(data);
	std::uint8_t version;
	if (!r.u8(&version))
		return std::nullopt;
	std::optional<AccountRecord> record;
	if (version == format_version || version == format_version_2)
		record = decode_v2(r, version);
	else if (version == format_version_1)
		record = decode_v1(r);
	if (!record)
		return std::nullopt;
	move_to_front_sorted(record->networks);
	move_to_front_sorted(record->countries);
	return record;
}
} // namespace account_guard
