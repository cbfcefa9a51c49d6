#pragma once
// IP addresses and networks as the guard counts them: client addresses are reduced to the
// network they belong to (a /24, a /64, a carrier NAT pool), and those networks are what
// the windows count.

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace account_guard {

struct IpAddress {
	bool v4 = true;
	// IPv4 uses the first 4 bytes; IPv6 all 16.
	std::array<std::uint8_t, 16> bytes{};

	unsigned int bits() const { return v4 ? 32 : 128; }
	bool operator==(const IpAddress &other) const
	{
		return v4 == other.v4 && bytes == other.bytes;
	}
};

// Parses a textual address. IPv4-mapped IPv6 (::ffff:a.b.c.d) becomes IPv4; an IPv6 zone id
// ("%eth0") is ignored; surrounding brackets are accepted. std::nullopt if unparsable.
std::optional<IpAddress> parse_ip(std::string_view text);

// A network: address with all host bits cleared, and its prefix length. The "unknown"
// network (family unset) stands for logins whose client address is missing or unparsable.
struct Network {
	// asn: every address of an autonomous system counted as one network (NAT ASNs).
	enum class Family : std::uint8_t { unknown = 0, asn = 1, v4 = 4, v6 = 6 };
	Family family = Family::unknown;
	std::uint8_t prefix = 0;
	std::array<std::uint8_t, 16> bytes{};

	static Network unknown() { return Network{}; }
	static Network of(const IpAddress &ip, unsigned int prefix);
	static Network of_asn(std::uint32_t asn);

	bool contains(const IpAddress &ip) const;
	std::string to_string() const;
	bool operator==(const Network &other) const
	{
		return family == other.family && prefix == other.prefix && bytes == other.bytes;
	}
	bool operator!=(const Network &other) const { return !(*this == other); }
};

// Parses "a.b.c.d/n", "x::y/n" or a bare address (a /32 or /128). Host bits set below the
// prefix are an error: "192.0.2.1/24" is almost always a typo for a network.
std::optional<Network> parse_network(std::string_view text, std::string *error_r);

// The networks of a network-list setting, in the order given; a lookup is a linear scan,
// which beats anything cleverer for the handful of entries such lists hold.
class NetworkList {
public:
	void add(const Network &network) { networks_.push_back(network); }
	bool empty() const { return networks_.empty(); }
	const Network *find(const IpAddress &ip) const;
	const std::vector<Network> &items() const { return networks_; }

private:
	std::vector<Network> networks_;
};

} // namespace account_guard
