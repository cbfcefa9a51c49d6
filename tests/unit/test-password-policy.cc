// The password policy rules of issue 5, one table per rule.
#include "breached-builder.hh"
#include "policy.hh"
#include "sha1.hh"
#include "strength.hh"

#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <string>
#include <unistd.h>
#include <vector>

using namespace account_guard;

namespace {

PasswordPolicy make_policy(std::map<std::string, std::string> values = {})
{
	auto settings = parse_password_settings([&](const char *name) -> const char * {
		auto it = values.find(name);
		return it == values.end() ? nullptr : it->second.c_str();
	});
	REQUIRE(settings.ok());
	auto policy = PasswordPolicy::create(std::move(*settings));
	REQUIRE(policy.ok());
	return std::move(*policy);
}

Verdict check(const PasswordPolicy &policy, std::string_view password, std::string_view user = "",
	      std::optional<std::string_view> old = std::nullopt)
{
	auto v = policy.check(Candidate{password, user, old});
	REQUIRE(v.ok());
	// Whatever the outcome, no reason repeats the password (short ones like "password" are
	// words of the messages themselves).
	for (const Reason &r : v->reasons) {
		if (password.size() >= 10)
			CHECK(r.message.find(password) == std::string::npos);
		CHECK_FALSE(r.message.empty());
	}
	return *v;
}

std::vector<std::string> codes(const Verdict &v)
{
	std::vector<std::string> out;
	for (const Reason &r : v.reasons)
		out.push_back(r.code);
	return out;
}

std::string repeat(std::string_view unit, std::size_t n)
{
	std::string s;
	for (std::size_t i = 0; i < n; i++)
		s += unit;
	return s;
}

// A strong password of exactly n ASCII characters (no patterns zxcvbn would see).
std::string random_ascii(std::size_t n, unsigned seed = 1)
{
	static const char alphabet[] = "abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789#%&*+=?@";
	std::string s;
	unsigned x = seed * 2654435761u + 12345u;
	for (std::size_t i = 0; i < n; i++) {
		x = x * 1103515245u + 12345u;
		s += alphabet[(x >> 16) % (sizeof(alphabet) - 1)];
	}
	return s;
}

struct TempDir {
	std::string path;
	TempDir()
	{
		char templ[] = "/tmp/ag-policy-test-XXXXXX";
		REQUIRE(mkdtemp(templ) != nullptr);
		path = templ;
	}
	~TempDir()
	{
		std::string cmd = "rm -rf '" + path + "'";
		(void)!std::system(cmd.c_str());
	}
};

std::string hex_upper(const Sha1Digest &d)
{
	static const char hex[] = "0123456789ABCDEF";
	std::string s;
	for (unsigned char c : d) {
		s += hex[c >> 4];
		s += hex[c & 15];
	}
	return s;
}

} // namespace

TEST_CASE("password policy: rule 1, length in code points after NFKC")
{
	const PasswordPolicy policy = make_policy();
	struct Row {
		std::string password;
		bool too_short;
		bool too_long;
	};
	const std::vector<Row> rows = {
		{"", true, false},
		{"Zq8#vLp2@xR7mK", true, false},                 // 14
		{"Zq8#vLp2@xR7mKw", false, false},               // 15
		{"щука-лампа-вет", true, false},                 // 14 code points, 26 bytes
		{"щука-лампа-ветер", false, false},              // 16 code points
		{"\xef\xac\x81sh-Zq8#vLp2@x", false, false},     // "ﬁ" + 13: NFKC makes it 15
		{"\xf0\x9f\xa6\x8a\xf0\x9f\x8c\xb2\xf0\x9f\x8e\xb8\xf0\x9f\x9a\xb2\xf0\x9f\x8d\x84"
		 "\xf0\x9f\x90\x99\xf0\x9f\x8c\xb5\xf0\x9f\x8e\x88\xf0\x9f\xa7\xb2\xf0\x9f\xaa\x81"
		 "\xf0\x9f\xa6\x89\xf0\x9f\x8d\x8b\xf0\x9f\x9b\xb6\xf0\x9f\xa7\xa9", true, false}, // 14 emoji
		{random_ascii(128), false, false},
		{random_ascii(129), false, true},
	};
	for (const Row &row : rows) {
		CAPTURE(row.password);
		Verdict v = check(policy, row.password);
		CHECK(v.has("too_short") == row.too_short);
		CHECK(v.has("too_long") == row.too_long);
	}
}

TEST_CASE("password policy: the maximum length never truncates")
{
	const PasswordPolicy policy = make_policy({{"account_guard_password_max_length", "20"}});
	const std::string ok = random_ascii(20, 7);
	CHECK(check(policy, ok).accepted());
	// The same 20 acceptable characters and one more: refused, not cut to the first 20.
	Verdict v = check(policy, ok + "x");
	CHECK(codes(v) == std::vector<std::string>{"too_long"});
}

TEST_CASE("password policy: at most 512 bytes, whatever the code point count")
{
	const PasswordPolicy policy = make_policy({{"account_guard_password_max_length", "512"}});
	const std::string fox = "\xf0\x9f\xa6\x8a"; // U+1F98A, 4 bytes
	// 128 emoji = 512 bytes: not a byte problem (they are a repeat, so too weak, though).
	Verdict at_limit = check(policy, repeat(fox, 128));
	CHECK_FALSE(at_limit.has("too_many_bytes"));
	Verdict over = check(policy, repeat(fox, 129));
	CHECK(codes(over) == std::vector<std::string>{"too_many_bytes"});
	// 200 three-byte characters: 200 code points (allowed) but 600 bytes.
	std::string cjk;
	for (int i = 0; i < 200; i++) {
		char32_t c = 0x4e00 + static_cast<char32_t>(i * 37);
		cjk += static_cast<char>(0xe0 | (c >> 12));
		cjk += static_cast<char>(0x80 | ((c >> 6) & 0x3f));
		cjk += static_cast<char>(0x80 | (c & 0x3f));
	}
	CHECK(check(policy, cjk).has("too_many_bytes"));
	// 512 ASCII bytes are fine as far as bytes go.
	CHECK(check(policy, random_ascii(512, 3)).accepted());
	CHECK(check(policy, random_ascii(513, 3)).has("too_many_bytes"));
}

TEST_CASE("password policy: rule 2, characters")
{
	const PasswordPolicy policy = make_policy();
	const std::string base = "Mango-Tiger-Quartz-77";
	struct Row {
		std::string password;
		std::vector<std::string> expected;
	};
	const std::vector<Row> rows = {
		{base, {}},
		{"correct horse battery staple", {}},             // inner spaces are fine
		{"Mango-Tiger\tQuartz-77", {"control_character"}},
		{"Mango-Tiger\x01Quartz-77", {"control_character"}},
		{"Mango-Tiger\x7fQuartz-77", {"control_character"}},
		{"Mango-Tiger\xc2\x85Quartz-77", {"control_character"}}, // U+0085 (C1)
		{std::string("Mango-Tiger") + '\0' + "Quartz-77", {"control_character"}},
		{" " + base, {"leading_trailing_space"}},
		{base + " ", {"leading_trailing_space"}},
		{base + "\xc2\xa0", {"leading_trailing_space"}},         // U+00A0 no-break space
		{"\xe3\x80\x80" + base, {"leading_trailing_space"}},     // U+3000 ideographic space
		{"\xff\xfe" + base, {"invalid_utf8"}},
		{"Mango\xc0\xaf-Tiger-Quartz-77", {"invalid_utf8"}},     // overlong '/'
		{"Mango\xed\xa0\x80-Tiger-Quartz-77", {"invalid_utf8"}}, // surrogate
		{base + "\xe2\x82", {"invalid_utf8"}},                   // cut in the middle
		// NFC vs NFD: "Grüße-aus-Köln-77" typed with combining diaeresis (NFD).
		{"Gr\xc3\xbc\xc3\x9f" "e-aus-K\xc3\xb6ln-Zq8#", {}},
		{"Gru\xcc\x88\xc3\x9f" "e-aus-Ko\xcc\x88ln-Zq8#", {"not_nfc"}},
		// A combining mark that has no precomposed form is NFC and fine.
		{"Mango-Tiger-Quartz-q\xcc\x83-77", {}},
		// Emoji, Cyrillic, Greek: any Unicode.
		{"\xf0\x9f\xa6\x8a\xf0\x9f\x8c\xb2\xf0\x9f\x8e\xb8\xf0\x9f\x9a\xb2\xf0\x9f\x8d\x84"
		 "\xf0\x9f\x90\x99\xf0\x9f\x8c\xb5\xf0\x9f\x8e\x88\xf0\x9f\xa7\xb2\xf0\x9f\xaa\x81"
		 "\xf0\x9f\xa6\x89\xf0\x9f\x8d\x8b\xf0\x9f\x9b\xb6\xf0\x9f\xa7\xa9\xf0\x9f\xaa\x90", {}},
		{"щука-лампа-ветер", {}},
		{"ΣΊΣΥΦΟΣ-Zq8#vLp2@x", {}},
	};
	for (const Row &row : rows) {
		CAPTURE(row.password);
		CHECK(codes(check(policy, row.password)) == row.expected);
	}
}

TEST_CASE("password policy: invalid UTF-8 is the only reason given")
{
	const PasswordPolicy policy = make_policy();
	CHECK(codes(check(policy, "\xff")) == std::vector<std::string>{"invalid_utf8"});
}

TEST_CASE("password policy: rule 3, no composition rules")
{
	const PasswordPolicy policy = make_policy();
	// Only lowercase letters, no digit, no symbol: fine when long and not guessable.
	CHECK(check(policy, "quartzlanternmangovelvet").accepted());
	CHECK(check(policy, "QUARTZLANTERNMANGOVELVET").accepted());
	CHECK(check(policy, "7391846250174938261").accepted());
}

TEST_CASE("password policy: rule 4, the strength estimate is gated by min_guesses_log10")
{
	const std::vector<std::string> samples = {"passwordpassword", "Tr0ub4dor&3-wide", "qwertyuiopasdfgh",
						  "Mango-Tiger-Quartz-77", "aaaaaaaaaaaaaaaaaaaa"};
	for (const std::string &pw : samples) {
		CAPTURE(pw);
		const double g = estimate_guesses_log10(pw, {});
		const PasswordPolicy lower = make_policy({{"account_guard_password_min_guesses_log10",
							  std::to_string(std::max(0.0, g - 0.01))}});
		const PasswordPolicy higher = make_policy({{"account_guard_password_min_guesses_log10",
							   std::to_string(g + 0.01)}});
		CHECK_FALSE(check(lower, pw).has("too_weak"));
		CHECK(check(higher, pw).has("too_weak"));
	}
	const PasswordPolicy policy = make_policy();
	CHECK(check(policy, "passwordpassword").has("too_weak"));
	CHECK(check(policy, "qwertyuiopasdfgh").has("too_weak"));
	CHECK(check(policy, "aaaaaaaaaaaaaaaaaaaa").has("too_weak"));
	CHECK(check(policy, "1234567890123456").has("too_weak"));
	CHECK_FALSE(check(policy, "Mango-Tiger-Quartz-77").has("too_weak"));
	// A too short password is told to get longer, not also that it is weak.
	CHECK(codes(check(policy, "password")) == std::vector<std::string>{"too_short"});
}

TEST_CASE("password policy: repeating a weak unit does not make it strong")
{
	const PasswordPolicy policy = make_policy();
	for (const std::string pw : {"Password1!Password1!", "Password1!Password1!Password1!",
				     "1qaz2wsx1qaz2wsx1qaz2wsx1qaz2wsx1qaz2wsx1qaz2wsx1qaz2wsx1qaz2wsx",
				     "abcabcabcabcabcabcabc"}) {
		CAPTURE(pw);
		CHECK(check(policy, pw).has("too_weak"));
	}
	// The repetition of a strong unit keeps the unit's strength.
	CHECK(check(policy, "Mango-Tiger-Quartz-77Mango-Tiger-Quartz-77").accepted());
	const double unit = estimate_guesses_log10("Password1!", {});
	CHECK(estimate_guesses_log10("Password1!Password1!Password1!", {}) == Approx(unit + std::log10(3.0)));
}

TEST_CASE("password policy: context words lower the strength estimate")
{
	const double without = estimate_guesses_log10("zanzibarquokka77zanzibar", {});
	const double with = estimate_guesses_log10("zanzibarquokka77zanzibar", {"zanzibar", "quokka"});
	CHECK(with < without);
}

namespace {

PasswordPolicy policy_with_gate(double min_guesses_log10, std::vector<std::string> context_words = {})
{
	PasswordSettings settings;
	settings.min_guesses_log10 = min_guesses_log10; // exactly this value, no text round trip
	settings.context_words = std::move(context_words);
	auto policy = PasswordPolicy::create(std::move(settings));
	REQUIRE(policy.ok());
	return std::move(*policy);
}

} // namespace

TEST_CASE("password policy: rule 4, an estimate exactly at the gate passes, just below it does not")
{
	// guesses >= 10^min_guesses_log10 passes (password-policy/README.md: the gate is a minimum).
	for (const std::string pw : {"Tr0ub4dor&3-wide", "Mango-Tiger-Quartz-77", "passwordpassword"}) {
		CAPTURE(pw);
		const double g = estimate_guesses_log10(pw, {});
		CHECK_FALSE(check(policy_with_gate(g), pw).has("too_weak"));
		CHECK(check(policy_with_gate(std::nextafter(g, g + 1)), pw).has("too_weak"));
	}
}

TEST_CASE("password policy: rule 4 applies when a user name is given too")
{
	const PasswordPolicy policy = make_policy();
	for (const std::string pw : {"passwordpassword", "qwertyuiopasdfgh", "1234567890123456"}) {
		CAPTURE(pw);
		CHECK(check(policy, pw, "alice@example.com").has("too_weak"));
		CHECK(check(policy, pw, "bob").has("too_weak"));
	}
	CHECK(check(policy, "Mango-Tiger-Quartz-77", "alice@example.com").accepted());
}

TEST_CASE("password policy: context words and the user name reach the strength estimate through check")
{
	// Not close enough to any word for rule 5 (the core is the whole password): only the
	// strength estimate, with the words as its user dictionary, can refuse it.
	const std::string pw = "zanzibarquokka77zanzibar";
	const double without = estimate_guesses_log10(pw, {});
	const double with = estimate_guesses_log10(pw, {"zanzibar", "quokka"});
	REQUIRE(with < without);
	const double gate = (with + without) / 2;
	CHECK(check(policy_with_gate(gate), pw).accepted());
	CHECK(codes(check(policy_with_gate(gate, {"Zanzibar", "quokka"}), pw)) ==
	      std::vector<std::string>{"too_weak"});
	// The user name's words (local part, domain labels) are context words as well.
	CHECK(check(policy_with_gate(gate), pw, "someone@example.com").accepted());
	CHECK(codes(check(policy_with_gate(gate), pw, "zanzibar@quokka.example")) ==
	      std::vector<std::string>{"too_weak"});
}

TEST_CASE("password policy: rule 5, context words")
{
	const PasswordPolicy policy = make_policy({{"account_guard_password_context_words", "acme, Straße"}});
	struct Row {
		std::string user;
		std::string password;
		std::string expected; // "" = no context refusal
	};
	const std::vector<Row> rows = {
		{"alice@example.com", "alice@example.com", "context_user_name"},
		{"alice@example.com", "Alice1234567890!", "context_user_name"},      // local part
		{"alice@example.com", "!!ALICE!!20240601", "context_user_name"},     // stripped, folded
		{"alice@example.com", "2024alice!!!!!!!", "context_user_name"},
		{"alice@example.com", "Alicx1234567890!", "context_user_name"},      // distance 1
		{"alice@example.com", "Aliice1234567890!", "context_user_name"},     // distance 1
		{"alice@example.com", "Alixy1234567890!", ""},                       // distance 2
		{"alice@example.com", "Example123456789", "context_domain"},
		{"alice@example.com", "Exampl123456789!", "context_domain"},         // distance 1
		{"alice@example.com", "com1234567890123", ""},                       // label < 4 chars
		{"alice@example.com", "my-alice-password-99", ""},                   // not the whole core
		{"alice@example.com", "\xef\xbd\x81\xef\xbd\x8c\xef\xbd\x89\xef\xbd\x83\xef\xbd\x85"
				      "123456789012", "context_user_name"},          // fullwidth "ａｌｉｃｅ"
		{"", "ACME-2024-ACME!!", ""},                                        // core "acme-2024-acme"
		{"", "acme!!!!12345678", "context_word"},
		{"", "ACMEE12345678901", "context_word"},
		{"", "STRASSE123456789", "context_word"},                            // "Straße" folds to "strasse"
		{"", "Stra\xc3\x9f" "e1234567890!", "context_word"},
		{"иван@пример.рф", "Иван1234567890!!", "context_user_name"},         // Cyrillic case folding
		{"иван@пример.рф", "ПРИМЕР123456789!", "context_domain"},
		{"иван@пример.рф", "рф12345678901234", ""},                          // 2-letter label
		{"al@example.com", "ab12345678901234", ""},                          // too short a word
		{"bob", "Bob!1234567890123", "context_user_name"},                   // no domain at all
	};
	for (const Row &row : rows) {
		CAPTURE(row.user, row.password);
		Verdict v = check(policy, row.password, row.user);
		std::vector<std::string> context;
		for (const std::string &c : codes(v)) {
			if (c.rfind("context_", 0) == 0)
				context.push_back(c);
		}
		if (row.expected.empty())
			CHECK(context.empty());
		else
			CHECK(context == std::vector<std::string>{row.expected});
	}
}

TEST_CASE("password policy: rule 6, breached passwords")
{
	TempDir dir;
	const std::vector<std::string> breached = {"Mango-Tiger-Quartz-77", "password1234567890",
						   "correct horse battery staple"};
	std::vector<std::string> lines;
	for (const std::string &pw : breached)
		lines.push_back(hex_upper(sha1(pw)) + ":42");
	std::sort(lines.begin(), lines.end());
	{
		std::ofstream f(dir.path + "/pwned.txt");
		for (const std::string &l : lines)
			f << l << "\r\n";
	}
	auto built = build_breached_file(dir.path + "/pwned.txt", dir.path + "/pwned.bin", {});
	REQUIRE(built.ok());
	const PasswordPolicy policy = make_policy({{"account_guard_password_breached_db", dir.path + "/pwned.bin"}});
	REQUIRE(policy.breached_db().has_value());
	CHECK(codes(check(policy, "Mango-Tiger-Quartz-77")) == std::vector<std::string>{"breached"});
	CHECK(check(policy, "correct horse battery staple").has("breached"));
	CHECK_FALSE(check(policy, "Mango-Tiger-Quartz-78").has("breached"));
	CHECK(check(policy, "Lantern-Velvet-Otter-31").accepted());
	// The compatibility form of a listed password is caught too: fullwidth "password1234567890".
	std::string fullwidth;
	for (char c : std::string("password1234567890")) {
		char32_t cp = 0xff00 + static_cast<char32_t>(c - 0x20);
		fullwidth += static_cast<char>(0xe0 | (cp >> 12));
		fullwidth += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
		fullwidth += static_cast<char>(0x80 | (cp & 0x3f));
	}
	CHECK(check(policy, fullwidth).has("breached"));
}

TEST_CASE("password policy: a breached_db that cannot be used is a configuration error")
{
	auto settings = parse_password_settings([](const char *name) -> const char * {
		return std::string(name) == "account_guard_password_breached_db" ? "/nonexistent/pwned.bin" : nullptr;
	});
	REQUIRE(settings.ok());
	auto policy = PasswordPolicy::create(std::move(*settings));
	REQUIRE_FALSE(policy.ok());
	CHECK(policy.error() == "account_guard_password_breached_db: /nonexistent/pwned.bin: cannot open: "
				"No such file or directory");
}

TEST_CASE("password policy: rule 7, the old password")
{
	const PasswordPolicy policy = make_policy();
	const std::string old = "Blue-Sky-Lantern-42";
	struct Row {
		std::string password;
		std::string expected;
	};
	const std::vector<Row> rows = {
		{"Blue-Sky-Lantern-42", "same_as_old"},
		{"Blue-Sky-Lantern-43", "similar_to_old"},   // 1 edit
		{"blue-sky-lantern-43", "similar_to_old"},   // case differences fold away
		{"Blue-Sky-Lantern-4321", "similar_to_old"}, // 2 edits
		{"Blue-Sky-Lantern-54321", ""},              // 3 edits
		{"Mango-Tiger-Quartz-77", ""},
		{"BLUE-SKY-LANTERN-42", "similar_to_old"},   // same after folding, not the same bytes
	};
	for (const Row &row : rows) {
		CAPTURE(row.password);
		Verdict v = check(policy, row.password, "", std::string_view(old));
		CHECK(v.has("same_as_old") == (row.expected == "same_as_old"));
		CHECK(v.has("similar_to_old") == (row.expected == "similar_to_old"));
	}
	// Without the old password, nothing to compare.
	CHECK(check(policy, "Blue-Sky-Lantern-42").accepted());
}

TEST_CASE("password policy: several reasons at once, in rule order")
{
	const PasswordPolicy policy = make_policy();
	Verdict v = check(policy, " alice\t", "alice@example.com");
	CHECK(codes(v) == std::vector<std::string>{"control_character", "leading_trailing_space", "too_short",
						   "context_user_name"});
}
