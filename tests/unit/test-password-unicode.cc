#include "unicode.hh"

#include <catch2/catch.hpp>

#include <string>

using namespace account_guard;

TEST_CASE("password unicode: UTF-8 validity")
{
	struct Row {
		std::string text;
		bool valid;
	};
	const Row rows[] = {
		{"", true},
		{"plain ascii", true},
		{"\xd1\x89\xd1\x83\xd0\xba\xd0\xb0", true},      // щука
		{"\xf0\x9f\xa6\x8a", true},                      // U+1F98A
		{"\xff", false},
		{"\xc0\xaf", false},                             // overlong
		{"\xed\xa0\x80", false},                         // UTF-16 surrogate
		{"\xf4\x90\x80\x80", false},                     // above U+10FFFF
		{"\xe2\x82", false},                             // truncated
	};
	for (const Row &row : rows) {
		CAPTURE(row.text);
		CHECK(is_valid_utf8(row.text) == row.valid);
	}
}

TEST_CASE("password unicode: code points, not bytes")
{
	CHECK(count_code_points("") == 0);
	CHECK(count_code_points("abc") == 3);
	CHECK(count_code_points("\xd1\x89\xd1\x83\xd0\xba\xd0\xb0") == 4);
	CHECK(count_code_points("\xf0\x9f\xa6\x8a\xf0\x9f\x8c\xb2") == 2);
	SecretCodePoints cps = decode_utf8("a\xc3\xa9\xf0\x9f\xa6\x8a");
	REQUIRE(cps.size() == 3);
	CHECK(cps[0] == U'a');
	CHECK(cps[1] == U'\u00e9');
	CHECK(cps[2] == U'\U0001F98A');
}

TEST_CASE("password unicode: NFC and NFKC")
{
	const std::string nfc = "caf\xc3\xa9";   // é precomposed
	const std::string nfd = "cafe\xcc\x81";  // e + combining acute
	CHECK(is_nfc(nfc));
	CHECK_FALSE(is_nfc(nfd));
	CHECK(to_nfc(nfd).view() == nfc);
	CHECK(to_nfkc(nfd).view() == nfc);
	// Compatibility forms fold in NFKC, not in NFC.
	CHECK(is_nfc("\xef\xac\x81"));                                  // ﬁ
	CHECK(to_nfkc("\xef\xac\x81").view() == "fi");
	CHECK(to_nfkc("\xef\xbc\xa1\xef\xbc\xa2").view() == "AB");      // fullwidth ＡＢ
	CHECK(to_nfkc("x\xc2\xb2").view() == "x2");                     // superscript two
	// Hangul syllables compose.
	CHECK(to_nfc("\xe1\x84\x92\xe1\x85\xa1\xe1\x86\xab").view() == "\xed\x95\x9c");
	// Reordering of combining marks is part of normal form.
	CHECK_FALSE(is_nfc("a\xcc\x81\xcc\xa3"));                       // acute before dot below
}

TEST_CASE("password unicode: case folding is full and locale-independent")
{
	CHECK(fold("Stra\xc3\x9f" "e").view() == "strasse");                     // ß
	CHECK(fold("STRASSE").view() == "strasse");
	CHECK(fold("\xd0\x98\xd0\x92\xd0\x90\xd0\x9d").view() == "\xd0\xb8\xd0\xb2\xd0\xb0\xd0\xbd"); // ИВАН
	CHECK(fold("\xce\xa3\xce\x8a\xce\xa3\xce\xa5\xce\xa6\xce\x9f\xce\xa3").view() ==
	      fold("\xcf\x83\xce\xaf\xcf\x83\xcf\x85\xcf\x86\xce\xbf\xcf\x82").view()); // ΣΊΣΥΦΟΣ ~ σίσυφος
	CHECK(fold("\xef\xbd\x81\xef\xbd\x8c\xef\xbd\x89\xef\xbd\x83\xef\xbd\x85").view() == "alice"); // ａｌｉｃｅ
	CHECK(fold("I").view() == "i"); // no Turkish dotless i, whatever the locale
	CHECK(fold("cafe\xcc\x81").view() == fold("CAF\xc3\x89").view());
}

TEST_CASE("password unicode: character classes")
{
	for (char32_t c : {U'\u0000', U'\t', U'\n', U'\r', U'\u001f', U'\u007f', U'\u0085', U'\u009f'})
		CHECK(is_control(c));
	for (char32_t c : {U' ', U'a', U'\u00a0', U'\u00e9', U'\u200d', U'\U0001F98A'})
		CHECK_FALSE(is_control(c));
	for (char32_t c : {U' ', U'\t', U'\u00a0', U'\u2003', U'\u3000', U'\u2028'})
		CHECK(is_white_space(c));
	for (char32_t c : {U'a', U'-', U'\u200b', U'\U0001F98A'})
		CHECK_FALSE(is_white_space(c));
	for (char32_t c : {U'a', U'Z', U'\u00df', U'\u0449', U'\u4e00', U'\u0301'})
		CHECK(is_letter_or_mark(c));
	for (char32_t c : {U'1', U'!', U' ', U'@', U'\u00b2', U'\U0001F98A', U'\u0663'})
		CHECK_FALSE(is_letter_or_mark(c));
}
