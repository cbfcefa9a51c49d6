#include "unicode.hh"

#include <stdlib.h>
#include <unicase.h>
#include <unictype.h>
#include <uninorm.h>
#include <unistr.h>

#include <new>

namespace account_guard {

namespace {

const uint8_t *bytes(std::string_view text)
{
	return reinterpret_cast<const uint8_t *>(text.data());
}

// NFKC expands a code point to at most 18 (U+FDFA), in UTF-8 at most 11 times the bytes;
// case folding at most 3 times. With room for both, libunistring writes into our buffer and
// never mallocs the result.
constexpr std::size_t max_expansion = 33;

template <typename Fn>
SecretString transform(std::string_view text, Fn fn)
{
	SecretString out;
	out.resize(text.size() * max_expansion + 16);
	std::size_t length = out.size();
	uint8_t *buf = reinterpret_cast<uint8_t *>(out.data());
	uint8_t *result = fn(buf, &length);
	if (result == nullptr)
		throw std::bad_alloc();
	if (result != buf) {
		// libunistring allocated after all: copy, then wipe its copy before freeing it.
		out.clear();
		out.append(std::string_view(reinterpret_cast<const char *>(result), length));
		wipe(result, length);
		free(result);
		return out;
	}
	out.resize(length);
	return out;
}

} // namespace

bool is_valid_utf8(std::string_view text)
{
	return u8_check(bytes(text), text.size()) == nullptr;
}

SecretCodePoints decode_utf8(std::string_view text)
{
	SecretCodePoints out;
	out.reserve(text.size());
	const uint8_t *p = bytes(text);
	const uint8_t *end = p + text.size();
	while (p < end) {
		ucs4_t c;
		int n = u8_mbtouc(&c, p, end - p);
		out.push_back(static_cast<char32_t>(c));
		p += n > 0 ? n : 1;
	}
	return out;
}

std::size_t count_code_points(std::string_view text)
{
	return u8_mbsnlen(bytes(text), text.size());
}

SecretString to_nfc(std::string_view text)
{
	return transform(text, [&](uint8_t *buf, std::size_t *length) {
		return u8_normalize(UNINORM_NFC, bytes(text), text.size(), buf, length);
	});
}

SecretString to_nfkc(std::string_view text)
{
	return transform(text, [&](uint8_t *buf, std::size_t *length) {
		return u8_normalize(UNINORM_NFKC, bytes(text), text.size(), buf, length);
	});
}

bool is_nfc(std::string_view text)
{
	return to_nfc(text).view() == text;
}

SecretString fold(std::string_view text)
{
	SecretString nfkc = to_nfkc(text);
	// The empty language: the same folding everywhere, whatever the process's locale (no
	// Turkish dotless i rules for one user and not for another).
	return transform(nfkc.view(), [&](uint8_t *buf, std::size_t *length) {
		return u8_casefold(bytes(nfkc.view()), nfkc.size(), "", UNINORM_NFKC, buf, length);
	});
}

bool is_control(char32_t c)
{
	return c <= 0x1f || (c >= 0x7f && c <= 0x9f);
}

bool is_white_space(char32_t c)
{
	return uc_is_property_white_space(static_cast<ucs4_t>(c));
}

bool is_letter_or_mark(char32_t c)
{
	return uc_is_general_category(static_cast<ucs4_t>(c), UC_CATEGORY_L) ||
	       uc_is_general_category(static_cast<ucs4_t>(c), UC_CATEGORY_M);
}

} // namespace account_guard
