// libFuzzer target: the decoder of what memcached holds (the account record: lock, login
// history and recipient counts in one item, current format and the older version 1) —
// untrusted input, since anyone who can reach memcached can write it. A value that decodes
// must re-encode to a value that decodes to the same thing, and the record operations must
// work on whatever decoded.
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
		for (RecipientWindow &w : record->recipients.windows) {
			(void)w.total(2000000000u);
			w.add(2000000000u, 1);
		}
		record->recipients.window(3600).add(2000000000u, 1);
		(void)format_recipient_counts(record->recipients, {{500, 3600, "1h"}, {2000, 86400, "1d"}},
					      2000000000u);
		encoded = encode(*record);
		if (!decode(encoded))
			std::abort();
	}
	return 0;
}
