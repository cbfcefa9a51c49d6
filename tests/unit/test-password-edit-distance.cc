#include "edit-distance.hh"

#include <catch2/catch.hpp>

#include <string>

using namespace account_guard;

TEST_CASE("password edit distance: Levenshtein over code points, bounded")
{
	struct Row {
		std::u32string a, b;
		std::size_t max;
		std::size_t expected; // max + 1 when farther than max
	};
	const Row rows[] = {
		{U"", U"", 1, 0},
		{U"alice", U"alice", 1, 0},
		{U"alice", U"alicx", 1, 1},      // substitution
		{U"alice", U"alce", 1, 1},       // deletion
		{U"alice", U"aliice", 1, 1},     // insertion
		{U"alice", U"ailce", 1, 2},      // a transposition is two edits
		{U"alice", U"ailce", 2, 2},
		{U"alice", U"bob", 2, 3},
		{U"alice", U"bob", 5, 5},
		{U"", U"abc", 2, 3},
		{U"", U"abc", 3, 3},
		{U"abc", U"", 5, 3},
		{U"kitten", U"sitting", 3, 3},
		{U"kitten", U"sitting", 2, 3},
		{U"\u0449\u0443\u043a\u0430", U"\u0449\u0443\u043a\u0438", 1, 1}, // щука / щуки
		{U"caf\u00e9", U"cafe", 1, 1},   // é is one code point
		{U"\U0001F98A\U0001F332", U"\U0001F98A", 1, 1},
		{U"abcdefghij", U"abcdefghijklm", 2, 3},   // length difference alone
		{U"abcdefghij", U"xbcdefghiy", 2, 2},
	};
	for (const Row &row : rows) {
		CAPTURE(row.max, row.expected);
		CHECK(bounded_edit_distance(row.a, row.b, row.max) == row.expected);
		CHECK(bounded_edit_distance(row.b, row.a, row.max) == row.expected);
		CHECK(within_edit_distance(row.a, row.b, row.max) == (row.expected <= row.max));
	}
}

TEST_CASE("password edit distance: agrees with the unbounded distance")
{
	// Exhaustive over short strings of a two-letter alphabet.
	auto full = [](const std::u32string &a, const std::u32string &b) {
		std::vector<std::vector<std::size_t>> d(a.size() + 1, std::vector<std::size_t>(b.size() + 1));
		for (std::size_t i = 0; i <= a.size(); i++)
			d[i][0] = i;
		for (std::size_t j = 0; j <= b.size(); j++)
			d[0][j] = j;
		for (std::size_t i = 1; i <= a.size(); i++)
			for (std::size_t j = 1; j <= b.size(); j++)
				d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1,
						    d[i - 1][j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)});
		return d[a.size()][b.size()];
	};
	std::vector<std::u32string> words = {U""};
	for (std::size_t len = 1; len <= 5; len++) {
		for (unsigned bits = 0; bits < (1u << len); bits++) {
			std::u32string w;
			for (std::size_t i = 0; i < len; i++)
				w += (bits >> i) & 1 ? U'a' : U'b';
			words.push_back(w);
		}
	}
	for (const auto &a : words) {
		for (const auto &b : words) {
			const std::size_t d = full(a, b);
			for (std::size_t max = 0; max <= 3; max++)
				REQUIRE(bounded_edit_distance(a, b, max) == std::min(d, max + 1));
		}
	}
}
