#include "text.hh"

#include <algorithm>
#include <ctime>

namespace account_guard {

std::string printable(std::string_view text, std::size_t max_bytes)
{
	static const char hex[] = "0123456789abcdef";
	// Every login's events carry the user: the usual name needs no escaping, copy it whole.
	if (text.size() <= max_bytes &&
	    std::none_of(text.begin(), text.end(), [](char ch) {
		    auto c = static_cast<unsigned char>(ch);
		    return c < 0x20 || c == 0x7f || c == '\\';
	    }))
		return std::string(text);
	std::string out;
	out.reserve(std::min(text.size(), max_bytes) + 8);
	for (std::size_t i = 0; i < text.size(); i++) {
		if (out.size() >= max_bytes) {
			out += "...";
			break;
		}
		unsigned char c = static_cast<unsigned char>(text[i]);
		if (c < 0x20 || c == 0x7f || c == '\\') {
			out += "\\x";
			out += hex[c >> 4];
			out += hex[c & 15];
		} else {
			out += static_cast<char>(c);
		}
	}
	return out;
}

std::string ascii_lower(std::string_view text)
{
	std::string out(text);
	for (char &c : out) {
		if (c >= 'A' && c <= 'Z')
			c = static_cast<char>(c - 'A' + 'a');
	}
	return out;
}

std::string join(const std::vector<std::string> &items, std::string_view separator)
{
	std::string out;
	for (std::size_t i = 0; i < items.size(); i++) {
		if (i > 0)
			out += separator;
		out += items[i];
	}
	return out;
}

std::string format_time_utc(long long epoch_seconds)
{
	std::time_t t = static_cast<std::time_t>(epoch_seconds);
	struct tm tm;
	if (gmtime_r(&t, &tm) == nullptr)
		return std::string();
	char buf[32];
	std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
	return buf;
}

std::vector<std::string_view> split_words(std::string_view value, std::string_view separators)
{
	std::vector<std::string_view> words;
	std::size_t pos = 0;
	while (pos < value.size()) {
		std::size_t start = value.find_first_not_of(separators, pos);
		if (start == std::string_view::npos)
			break;
		std::size_t end = value.find_first_of(separators, start);
		if (end == std::string_view::npos)
			end = value.size();
		words.push_back(value.substr(start, end - start));
		pos = end;
	}
	return words;
}

std::string setting_error_text(std::string_view name, std::string_view problem, std::string_view value)
{
	std::string msg(name);
	msg += ": ";
	msg += problem;
	msg += " '";
	for (char c : value.substr(0, 200))
		msg += (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) ? '?' : c;
	msg += "'";
	return msg;
}

} // namespace account_guard
