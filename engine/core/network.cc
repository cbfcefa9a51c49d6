#include "network.hh"

#include <arpa/inet.h>

#include <cstring>

namespace account_guard {

namespace {

constexpr std::array<std::uint8_t, 12> v4_mapped_prefix = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

void clear_host_bits(std::array<std::uint8_t, 16> &bytes, unsigned int prefix, unsigned int bits)
{
	for (unsigned int i = 0; i < bits / 8; i++) {
		unsigned int first_bit = i * 8;
		if (first_bit >= prefix)
			bytes[i] = 0;
		else if (first_bit + 8 > prefix)
			bytes[i] &= static_cast<std::uint8_t>(0xff << (8 - (prefix - first_bit)));
	}
}

} // namespace

std::optional<IpAddress> parse_ip(std::string_view text)
{
	if (text.size() >= 2 && text.front() == '[' && text.back() == ']')
		text = text.substr(1, text.size() - 2);
	std::size_t zone = text.find('%');
	if (zone != std::string_view::npos)
		text = text.substr(0, zone);
	// Longest valid textual IPv6 address is 45 characters.
	if (text.empty() || text.size() > 45)
		return std::nullopt;
	char buf[46];
	std::memcpy(buf, text.data(), text.size());
	buf[text.size()] = '\0';

	IpAddress ip;
	if (inet_pton(AF_INET, buf, ip.bytes.data()) == 1) {
		ip.v4 = true;
		return ip;
	}
	if (inet_pton(AF_INET6, buf, ip.bytes.data()) != 1)
		return std::nullopt;
	if (std::memcmp(ip.bytes.data(), v4_mapped_prefix.data(), v4_mapped_prefix.size()) == 0) {
		IpAddress v4;
		v4.v4 = true;
		std::memcpy(v4.bytes.data(), ip.bytes.data() + 12, 4);
		return v4;
	}
	ip.v4 = false;
	return ip;
}

Network Network::of(const IpAddress &ip, unsigned int prefix)
{
	Network n;
	n.family = ip.v4 ? Family::v4 : Family::v6;
	n.prefix = static_cast<std::uint8_t>(prefix > ip.bits() ? ip.bits() : prefix);
	n.bytes = ip.bytes;
	clear_host_bits(n.bytes, n.prefix, ip.bits());
	return n;
}

Network Network::of_asn(std::uint32_t asn)
{
	Network n;
	n.family = Family::asn;
	n.prefix = 32;
	for (int i = 0; i < 4; i++)
		n.bytes[static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(asn >> (24 - 8 * i));
	return n;
}

bool Network::contains(const IpAddress &ip) const
{
	if (family == Family::unknown || family == Family::asn || (family == Family::v4) != ip.v4)
		return false;
	return Network::of(ip, prefix).bytes == bytes;
}

std::string Network::to_string() const
{
	if (family == Family::unknown)
		return "unknown";
	if (family == Family::asn) {
		std::uint32_t asn = 0;
		for (int i = 0; i < 4; i++)
			asn = (asn << 8) | bytes[static_cast<std::size_t>(i)];
		return "AS" + std::to_string(asn);
	}
	if (family == Family::v4) {
		// By hand: inet_ntop and std::to_string go through printf, a fifth of a login's
		// time in the engine benchmark, and every recorded login names its network.
		char buf[sizeof("255.255.255.255/32")];
		char *p = buf;
		auto put = [&p](unsigned int v) {
			if (v >= 100)
				*p++ = static_cast<char>('0' + v / 100);
			if (v >= 10)
				*p++ = static_cast<char>('0' + v / 10 % 10);
			*p++ = static_cast<char>('0' + v % 10);
		};
		for (int i = 0; i < 4; i++) {
			put(bytes[static_cast<std::size_t>(i)]);
			*p++ = i < 3 ? '.' : '/';
		}
		put(prefix);
		return std::string(buf, static_cast<std::size_t>(p - buf));
	}
	char buf[INET6_ADDRSTRLEN];
	int af = AF_INET6;
	if (inet_ntop(af, bytes.data(), buf, sizeof(buf)) == nullptr)
		return "unknown";
	return std::string(buf) + "/" + std::to_string(prefix);
}

std::optional<Network> parse_network(std::string_view text, std::string *error_r)
{
	std::size_t slash = text.find('/');
	auto ip = parse_ip(text.substr(0, slash));
	if (!ip) {
		*error_r = "invalid address";
		return std::nullopt;
	}
	unsigned int prefix = ip->bits();
	if (slash != std::string_view::npos) {
		std::string_view digits = text.substr(slash + 1);
		if (digits.empty() || digits.size() > 3) {
			*error_r = "invalid prefix length";
			return std::nullopt;
		}
		prefix = 0;
		for (char c : digits) {
			if (c < '0' || c > '9') {
				*error_r = "invalid prefix length";
				return std::nullopt;
			}
			prefix = prefix * 10 + static_cast<unsigned int>(c - '0');
		}
		if (prefix > ip->bits()) {
			*error_r = "prefix length out of range";
			return std::nullopt;
		}
	}
	Network n = Network::of(*ip, prefix);
	if (n.bytes != ip->bytes) {
		*error_r = "host bits set (did you mean " + n.to_string() + "?)";
		return std::nullopt;
	}
	return n;
}

const Network *NetworkList::find(const IpAddress &ip) const
{
	for (const Network &n : networks_) {
		if (n.contains(ip))
			return &n;
	}
	return nullptr;
}

} // namespace account_guard
