// libFuzzer target: address and CIDR parsing, containment and formatting. A network that
// parses must format to text that parses back to the same network.
#include "network.hh"

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

using namespace account_guard;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size)
{
	std::string_view text(reinterpret_cast<const char *>(data), size);
	auto ip = parse_ip(text);
	std::string error;
	auto network = parse_network(text, &error);
	if (network) {
		std::string formatted = network->to_string();
		auto again = parse_network(formatted, &error);
		if (!again || *again != *network)
			std::abort();
		if (ip && !network->contains(*ip))
			std::abort();
	}
	if (ip) {
		for (unsigned int prefix : {0u, 8u, 24u, 33u, 64u, 128u, 200u}) {
			Network n = Network::of(*ip, prefix);
			if (!n.contains(*ip))
				std::abort();
			(void)n.to_string();
		}
	}
	return 0;
}
