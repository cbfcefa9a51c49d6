#pragma once
// The Unicode a password policy needs, over UTF-8 bytes: validity, code points, the NFC and
// NFKC normal forms, full case folding and a few character classes.
//
// Built on GNU libunistring (Debian's libunistring-dev) rather than written here: normalisation
// and case folding need the Unicode Character Database tables (decompositions, composition
// exclusions, canonical ordering, special casing), which libunistring keeps current with
// Unicode and which would be thousands of lines of generated tables to carry ourselves. It
// works on UTF-8 directly (ICU would convert every password to UTF-16 and back) and lets
// the caller supply the output buffer, so password bytes stay in memory we wipe.

#include "secret.hh"

#include <cstddef>
#include <string_view>

namespace account_guard {

bool is_valid_utf8(std::string_view text);

// The code points of valid UTF-8 text (check is_valid_utf8 first; invalid bytes become U+FFFD).
SecretCodePoints decode_utf8(std::string_view text);
std::size_t count_code_points(std::string_view text);

// Normal forms of valid UTF-8 text.
SecretString to_nfc(std::string_view text);
SecretString to_nfkc(std::string_view text);
bool is_nfc(std::string_view text);

// NFKC, then full Unicode case folding (locale-independent: "Straße" -> "strasse"), then NFKC
// again: the form in which two spellings of the same word compare equal.
SecretString fold(std::string_view text);

// U+0000-U+001F, U+007F and the C1 controls U+0080-U+009F (general category Cc).
bool is_control(char32_t c);
// The Unicode White_Space property (space, no-break space, ideographic space, ...).
bool is_white_space(char32_t c);
// General category L (letters) or M (marks that belong to them).
bool is_letter_or_mark(char32_t c);

} // namespace account_guard
