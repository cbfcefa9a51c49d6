#include "recipient-record.hh"

#include <algorithm>

namespace account_guard {

namespace {

// Layout, version 1: u8 version, u8 n_windows, then per window: u32 window seconds,
// u32 newest bucket index, u8 n_counts, n_counts LEB128 varints (newest first).
// The default 500/1h 2000/24h costs about 50 bytes.
constexpr std::uint8_t format_version = 1;
constexpr std::size_t max_windows = 16;

void put_u32(std::string &out, std::uint32_t v)
{
	for (int i = 0; i < 4; i++)
		out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

void put_varint(std::string &out, std::uint32_t v)
{
	while (v >= 0x80) {
		out.push_back(static_cast<char>((v & 0x7f) | 0x80));
		v >>= 7;
	}
	out.push_back(static_cast<char>(v));
}

class Reader {
public:
	explicit Reader(std::string_view d) : d_(d) {}
	bool u8(std::uint8_t *v)
	{
		if (pos_ >= d_.size())
			return false;
		*v = static_cast<std::uint8_t>(d_[pos_++]);
		return true;
	}
	bool u32(std::uint32_t *v)
	{
		*v = 0;
		for (int i = 0; i < 4; i++) {
			std::uint8_t b;
			if (!u8(&b))
				return false;
			*v |= static_cast<std::uint32_t>(b) << (8 * i);
		}
		return true;
	}
	bool varint(std::uint32_t *v)
	{
		*v = 0;
		for (int shift = 0; shift < 35; shift += 7) {
			std::uint8_t b;
			if (!u8(&b))
				return false;
			if (shift == 28 && (b & 0x70) != 0)
				return false; // more than 32 bits
			*v |= static_cast<std::uint32_t>(b & 0x7f) << shift;
			if ((b & 0x80) == 0)
				return true;
		}
		return false;
	}
	bool at_end() const { return pos_ == d_.size(); }

private:
	std::string_view d_;
	std::size_t pos_ = 0;
};

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

std::string encode(const RecipientRecord &record)
{
	std::string out;
	out.push_back(static_cast<char>(format_version));
	std::size_t n = std::min(record.windows.size(), max_windows);
	out.push_back(static_cast<char>(n));
	for (std::size_t i = 0; i < n; i++) {
		const RecipientWindow &w = record.windows[i];
		put_u32(out, static_cast<std::uint32_t>(w.window));
		put_u32(out, w.newest_bucket);
		std::size_t counts = std::min<std::size_t>(w.counts.size(), buckets_per_window);
		out.push_back(static_cast<char>(counts));
		for (std::size_t j = 0; j < counts; j++)
			put_varint(out, w.counts[j]);
	}
	return out;
}

std::optional<RecipientRecord> decode_recipients(std::string_view data)
{
	Reader r(data);
	std::uint8_t version, n;
	if (!r.u8(&version) || version != format_version || !r.u8(&n) || n > max_windows)
		return std::nullopt;
	RecipientRecord record;
	for (unsigned int i = 0; i < n; i++) {
		RecipientWindow w;
		std::uint32_t window;
		std::uint8_t counts;
		if (!r.u32(&window) || window == 0 || !r.u32(&w.newest_bucket) || !r.u8(&counts) ||
		    counts > buckets_per_window)
			return std::nullopt;
		w.window = window;
		for (unsigned int j = 0; j < counts; j++) {
			std::uint32_t c;
			if (!r.varint(&c))
				return std::nullopt;
			w.counts.push_back(c);
		}
		if (record.find(w.window) != nullptr)
			return std::nullopt;
		record.windows.push_back(std::move(w));
	}
	if (!r.at_end())
		return std::nullopt;
	return record;
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
