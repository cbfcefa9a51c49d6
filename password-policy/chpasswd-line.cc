#include "chpasswd-line.hh"

namespace account_guard {

Result<ChpasswdLine> parse_chpasswd_line(std::string_view line)
{
	const std::size_t colon = line.find(':');
	if (colon == std::string_view::npos || colon == 0)
		return failure("expected user:newpassword");
	ChpasswdLine parsed{line.substr(0, colon), line.substr(colon + 1)};
	for (char c : parsed.user) {
		if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f)
			return failure("the user name contains a control character");
	}
	return parsed;
}

} // namespace account_guard
