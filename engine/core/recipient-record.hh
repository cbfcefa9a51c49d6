#pragma once
// Recipient counts of one account on submission, one series of time buckets per window of
// account_guard_recipient_limit. They are stored inside the account's record (AccountRecord::
// recipients, encoded by account-record.cc): one memcached item per account, one read and one
// compare-and-swap per RCPT. Each window is cut into buckets_per_window buckets, so a
// window slides in steps of 1/12 of its length: "500/1h" forgets recipients in 5-minute
// steps, "2000/24h" in 2-hour steps; a window under 12 seconds in steps of one second.

#include "settings.hh"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace account_guard {

constexpr unsigned int buckets_per_window = 12;

struct RecipientWindow {
	std::int64_t window = 0;           // seconds
	std::uint32_t newest_bucket = 0;   // index (time / bucket width) of counts[0]
	std::vector<std::uint32_t> counts; // newest first, at most buckets_per_window

	std::int64_t bucket_width() const;
	// buckets_per_window, or fewer for windows shorter than that many seconds.
	unsigned int buckets() const;
	// Recipients counted within the window as seen at `now`.
	std::uint64_t total(std::uint32_t now) const;
	void add(std::uint32_t now, std::uint32_t n);
	// Uncounts n recipients (a transaction that never completed DATA), newest buckets first.
	void take_back(std::uint32_t now, std::uint32_t n);
};

struct RecipientRecord {
	std::vector<RecipientWindow> windows;

	// The series for `window`, created empty if missing.
	RecipientWindow &window(std::int64_t window);
	const RecipientWindow *find(std::int64_t window) const;
	// Keeps only the windows of `limits` (settings may have changed since the last write).
	void keep_only(const LimitList &limits);
	// The first limit one more recipient would cross (its count so far in *count_r), or null.
	const Limit *crossed_by(const LimitList &limits, std::uint32_t now, std::uint64_t *count_r) const;
	void add(const LimitList &limits, std::uint32_t now, std::uint32_t n);
	void take_back(const LimitList &limits, std::uint32_t now, std::uint32_t n);
};

// "12/1h 40/1d": the count within each window of limits, as doveadm account-status shows it.
std::string format_recipient_counts(const RecipientRecord &record, const LimitList &limits, std::uint32_t now);

} // namespace account_guard
