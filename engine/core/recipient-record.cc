#include "recipient-record.hh"

#include <algorithm>

namespace account_guard {

namespace {

std::uint32_t bucket_of(std::uint32_t now, std::int64_t width)
{
	return static_cast<std::uint32_t>(static_cast<std::int64_t>(now) / width);
}

} // namespace

std::int64_t RecipientWindow::bucket_width() const
{
	return std::max<std::int64_t>(1, window / buckets_per_window);
}

unsigned int RecipientWindow::buckets() const
{
	return static_cast<unsigned int>(std::min<std::int64_t>(buckets_per_window, std::max<std::int64_t>(1, window)));
}

std::uint64_t RecipientWindow::total(std::uint32_t now) const
{
	std::uint32_t current = bucket_of(now, bucket_width());
	std::uint64_t sum = 0;
	for (std::size_t i = 0; i < counts.size(); i++) {
		// counts[i] belongs to bucket newest_bucket - i; it is inside the window if it is
		// one of the last buckets_per_window buckets up to the current one.
		std::int64_t bucket = static_cast<std::int64_t>(newest_bucket) - static_cast<std::int64_t>(i);
		if (bucket <= static_cast<std::int64_t>(current) &&
		    bucket > static_cast<std::int64_t>(current) - buckets())
			sum += counts[i];
	}
	return sum;
}

void RecipientWindow::add(std::uint32_t now, std::uint32_t n)
{
	std::uint32_t current = bucket_of(now, bucket_width());
	if (counts.empty() || current > newest_bucket) {
		// Shift: insert zero buckets for the time passed, drop the ones that slid out.
		std::uint64_t gap = counts.empty() ? buckets() : current - newest_bucket;
		if (gap >= buckets()) {
			counts.clear();
			counts.push_back(0);
		} else {
			counts.insert(counts.begin(), static_cast<std::size_t>(gap), 0);
		}
		newest_bucket = current;
	}
	if (counts.size() > buckets())
		counts.resize(buckets());
	// A node whose clock is behind adds to the bucket it believes current, if still kept.
	std::size_t index = current >= newest_bucket ? 0 : newest_bucket - current;
	if (index < buckets() && index >= counts.size())
		counts.resize(index + 1, 0);
	if (index < counts.size())
		counts[index] = counts[index] > UINT32_MAX - n ? UINT32_MAX : counts[index] + n;
}

void RecipientWindow::take_back(std::uint32_t now, std::uint32_t n)
{
	// Newest buckets first: recipients given back were counted moments ago (the same
	// transaction), so they sit in the current bucket unless it just turned over.
	const std::uint32_t current = bucket_of(now, bucket_width());
	for (std::size_t i = 0; i < counts.size() && n > 0; i++) {
		const std::int64_t bucket = static_cast<std::int64_t>(newest_bucket) - static_cast<std::int64_t>(i);
		if (bucket <= static_cast<std::int64_t>(current) - buckets())
			break;
		const std::uint32_t taken = std::min(counts[i], n);
		counts[i] -= taken;
		n -= taken;
	}
}

RecipientWindow &RecipientRecord::window(std::int64_t window)
{
	for (RecipientWindow &w : windows) {
		if (w.window == window)
			return w;
	}
	windows.push_back(RecipientWindow{window, 0, {}});
	return windows.back();
}

const RecipientWindow *RecipientRecord::find(std::int64_t window) const
{
	for (const RecipientWindow &w : windows) {
		if (w.window == window)
			return &w;
	}
	return nullptr;
}

void RecipientRecord::keep_only(const LimitList &limits)
{
	windows.erase(std::remove_if(windows.begin(), windows.end(),
				     [&](const RecipientWindow &w) {
					     return std::none_of(limits.begin(), limits.end(), [&](const Limit &l) {
						     return l.window == w.window;
					     });
				     }),
		      windows.end());
}

const Limit *RecipientRecord::crossed_by(const LimitList &limits, std::uint32_t now, std::uint64_t *count_r) const
{
	for (const Limit &l : limits) {
		const RecipientWindow *w = find(l.window);
		const std::uint64_t total = w ? w->total(now) : 0;
		if (total + 1 > l.count) {
			if (count_r)
				*count_r = total;
			return &l;
		}
	}
	return nullptr;
}

void RecipientRecord::add(const LimitList &limits, std::uint32_t now, std::uint32_t n)
{
	for (const Limit &l : limits)
		window(l.window).add(now, n);
}

void RecipientRecord::take_back(const LimitList &limits, std::uint32_t now, std::uint32_t n)
{
	for (const Limit &l : limits) {
		for (RecipientWindow &w : windows) {
			if (w.window == l.window)
				w.take_back(now, n);
		}
	}
}

std::string format_recipient_counts(const RecipientRecord &record, const LimitList &limits, std::uint32_t now)
{
	std::string out;
	for (const Limit &l : limits) {
		const RecipientWindow *w = record.find(l.window);
		if (!out.empty())
			out += ' ';
		out += std::to_string(w ? w->total(now) : 0) + "/" + l.window_name();
	}
	return out;
}

} // namespace account_guard
