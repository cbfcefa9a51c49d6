// libFuzzer target: the decoders of what memcached holds (account records and recipient
// counts) — untrusted input, since anyone who can reach memcached can write it. A value
// that decodes must re-encode to a value that decodes to the same thing, and the record
// operations must work on whatever decoded.
#include "account-record.hh"
#include "recipient-record.hh"

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

using namespace account_guard;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size)
{
	std::string_view bytes(reinterpret_cast<const char *>(data), size);
	if (auto record = decode(bytes)) {
		std::string encoded = encode(*record);
		auto again = decode(encoded);
		if (!again || encode(*again) != encoded)
			std::abort();
		record->networks_within(2000000000u, 3600);
		record->touch_network(Network::unknown(), 2000000000u);
		record->trim_networks(2000000000u, 86400, 11);
		record->trim_countries(2000000000u, 86400, 4);
		(void)encode(*record);
	}
	if (auto counts = decode_recipients(bytes)) {
		std::string encoded = encode(*counts);
		auto again = decode_recipients(encoded);
		if (!again || encode(*again) != encoded)
			std::abort();
		for (RecipientWindow &w : counts->windows) {
			(void)w.total(2000000000u);
			w.add(2000000000u, 1);
		}
		(void)encode(*counts);
	}
	return 0;
}
