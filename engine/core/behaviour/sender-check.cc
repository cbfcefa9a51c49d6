#include "sender-check.hh"

#include "text.hh"

namespace account_guard {

bool sender_owned(const Settings &s, std::string_view user, std::string_view sender)
{
	if (sender.size() >= 2 && sender.front() == '<' && sender.back() == '>')
		sender = sender.substr(1, sender.size() - 2);
	if (sender.empty())
		return true;
	const std::string address = ascii_lower(sender);
	if (address == ascii_lower(user))
		return true;
	const std::size_t at = address.rfind('@');
	for (const std::string &allowed : s.sender_addresses) {
		if (allowed == address)
			return true;
		if (allowed.front() == '@' && at != std::string::npos && address.compare(at, std::string::npos, allowed) == 0)
			return true;
	}
	return false;
}

} // namespace account_guard
