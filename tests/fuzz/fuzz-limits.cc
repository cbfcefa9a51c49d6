// libFuzzer target: limit lists and durations. A list that parses formats to text that
// parses back to the same limits.
#include "settings.hh"

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

using namespace account_guard;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size)
{
	std::string_view text(reinterpret_cast<const char *>(data), size);
	try {
		LimitList limits = parse_limit_list("account_guard_ip_limit", text);
		std::string formatted;
		for (const Limit &l : limits)
			formatted += l.to_string() + " ";
		LimitList again = parse_limit_list("account_guard_ip_limit", formatted);
		if (again.size() != limits.size())
			std::abort();
		for (std::size_t i = 0; i < limits.size(); i++) {
			if (again[i].count != limits[i].count || again[i].window != limits[i].window)
				std::abort();
		}
	} catch (const SettingError &) {
	}
	try {
		std::int64_t seconds = parse_duration("d", text);
		if (seconds <= 0 || parse_duration("d", format_duration(seconds)) != seconds)
			std::abort();
	} catch (const SettingError &) {
	}
	return 0;
}
