#pragma once
// Write side of the compact breached-password file (format in breached-format.hh): one
// streaming pass over the Pwned Passwords download ("SHA1:count" lines, sorted by hash),
// bounded memory (two 1 MiB write buffers, one page of the current bucket, the read buffer),
// written to a temporary file next to the output and renamed into place when complete.

#include "result.hh"

#include <cstdint>
#include <string>

namespace account_guard {

struct BreachedBuildOptions {
	// An estimate of the number of entries, which sets the bucket count. 0: estimate it from
	// the input file's size (44 bytes per line, the average of the Pwned Passwords file);
	// needed when the input is a pipe.
	std::uint64_t expected_entries = 0;
	// Leave out hashes seen fewer times than this (0 or 1: keep all).
	std::uint64_t min_count = 0;
};

struct BreachedBuildStats {
	std::uint64_t lines = 0;          // lines read
	std::uint64_t entries = 0;        // distinct fingerprints stored
	std::uint64_t duplicates = 0;     // repeated hashes or colliding fingerprints, stored once
	std::uint64_t below_min_count = 0;
	std::uint32_t bucket_bits = 0;
	std::uint64_t file_bytes = 0;
	double false_positive_rate = 0;
};

// Reads input ("-" for stdin) and writes output. Fails with the line number for malformed or
// unsorted input and leaves no partial output behind.
Result<BreachedBuildStats> build_breached_file(const std::string &input, const std::string &output,
					       const BreachedBuildOptions &options);

} // namespace account_guard
