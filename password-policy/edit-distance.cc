#include "edit-distance.hh"

#include <algorithm>
#include <vector>

namespace account_guard {

std::size_t bounded_edit_distance(std::u32string_view a, std::u32string_view b,
				  std::size_t max_distance)
{
	const std::size_t over = max_distance + 1;
	if (a.size() < b.size())
		std::swap(a, b);
	// The length difference alone needs that many insertions.
	if (a.size() - b.size() > max_distance)
		return over;
	if (b.empty())
		return a.size();

	// One row of the dynamic-programming table, restricted to the diagonal band
	// |i - j| <= max_distance: cells outside it exceed the bound anyway.
	std::vector<std::size_t> prev(b.size() + 1), cur(b.size() + 1);
	for (std::size_t j = 0; j <= b.size(); j++)
		prev[j] = std::min(j, over);
	for (std::size_t i = 1; i <= a.size(); i++) {
		const std::size_t lo = i > max_distance ? i - max_distance : 1;
		const std::size_t hi = std::min(b.size(), i + max_distance);
		cur[0] = std::min(i, over);
		if (lo > 1)
			cur[lo - 1] = over;
		std::size_t row_min = cur[0];
		for (std::size_t j = lo; j <= hi; j++) {
			std::size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
			std::size_t v = prev[j - 1] + cost;
			v = std::min(v, prev[j] + 1);
			v = std::min(v, cur[j - 1] + 1);
			cur[j] = std::min(v, over);
			row_min = std::min(row_min, cur[j]);
		}
		if (hi < b.size())
			cur[hi + 1] = over;
		if (row_min >= over)
			return over;
		std::swap(prev, cur);
	}
	return std::min(prev[b.size()], over);
}

} // namespace account_guard
