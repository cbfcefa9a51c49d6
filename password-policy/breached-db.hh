#pragma once
// Read side of the compact breached-password file (format in breached-format.hh): mapped
// read-only, checked once when opened, two pages touched per lookup.

#include "breached-format.hh"
#include "result.hh"
#include "sha1.hh"

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>

namespace account_guard {

class BreachedDb {
public:
	// Maps the file and checks its header and size. The error says what is wrong with it,
	// e.g. "/var/lib/x.bin: truncated: 8192 bytes, the header says 12288".
	static Result<BreachedDb> open(const std::string &path);

	BreachedDb(BreachedDb &&other) noexcept;
	BreachedDb &operator=(BreachedDb &&other) noexcept;
	BreachedDb(const BreachedDb &) = delete;
	BreachedDb &operator=(const BreachedDb &) = delete;
	~BreachedDb();

	// Whether the password with this SHA-1 is (probably: see false_positive_rate) in the list.
	// Fails only on a corrupt index.
	Result<bool> contains_sha1(const Sha1Digest &digest) const;
	// The same for the exact bytes of a password.
	Result<bool> contains(std::string_view password) const;

	const breached::Header &header() const { return header_; }
	const std::string &path() const { return path_; }
	double false_positive_rate() const;

	// The slot range [first, second) of a bucket (tests check the page layout with it).
	Result<std::pair<std::uint64_t, std::uint64_t>> bucket_range(std::uint64_t bucket) const;

private:
	BreachedDb() = default;
	void release();

	std::string path_;
	const unsigned char *map_ = nullptr;
	std::size_t map_size_ = 0;
	breached::Header header_;
};

} // namespace account_guard
