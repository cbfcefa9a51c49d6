#include "json-writer.hh"

namespace account_guard::replay {

namespace {

// The length of the valid UTF-8 sequence at text[i], 0 if there is none (overlong forms,
// surrogates and code points above U+10FFFF are not valid).
std::size_t utf8_length(std::string_view text, std::size_t i)
{
	const auto b = [&](std::size_t k) { return static_cast<unsigned char>(text[i + k]); };
	const unsigned char c = b(0);
	std::size_t n;
	unsigned min, cp;
	if (c < 0x80)
		return 1;
	if ((c & 0xe0) == 0xc0) {
		n = 2, cp = c & 0x1f, min = 0x80;
	} else if ((c & 0xf0) == 0xe0) {
		n = 3, cp = c & 0x0f, min = 0x800;
	} else if ((c & 0xf8) == 0xf0) {
		n = 4, cp = c & 0x07, min = 0x10000;
	} else {
		return 0;
	}
	if (i + n > text.size())
		return 0;
	for (std::size_t k = 1; k < n; k++) {
		if ((b(k) & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (b(k) & 0x3f);
	}
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return n;
}

} // namespace

void append_json_string(std::string &out, std::string_view text)
{
	static const char hex[] = "0123456789abcdef";
	out += '"';
	for (std::size_t i = 0; i < text.size();) {
		const unsigned char c = static_cast<unsigned char>(text[i]);
		if (c == '"' || c == '\\') {
			out += '\\';
			out += static_cast<char>(c);
			i++;
		} else if (c < 0x20 || c == 0x7f) {
			out += "\\u00";
			out += hex[c >> 4];
			out += hex[c & 15];
			i++;
		} else if (std::size_t n = utf8_length(text, i); n > 0) {
			out.append(text.substr(i, n));
			i += n;
		} else {
			out += "\\ufffd";
			i++;
		}
	}
	out += '"';
}

} // namespace account_guard::replay
