#pragma once
// Levenshtein distance (insertions, deletions, substitutions of one code point each), bounded:
// the policy only asks "within 1?" or "within 2?", so the search stops as soon as the answer
// is known. Works on code points, so "é" (one code point in NFC) is one edit, not two bytes.

#include <cstddef>
#include <string_view>

namespace account_guard {

// The distance between a and b if it is at most max_distance, else max_distance + 1.
std::size_t bounded_edit_distance(std::u32string_view a, std::u32string_view b,
				  std::size_t max_distance);

inline bool within_edit_distance(std::u32string_view a, std::u32string_view b,
				 std::size_t max_distance)
{
	return bounded_edit_distance(a, b, max_distance) <= max_distance;
}

} // namespace account_guard
