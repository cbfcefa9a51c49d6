#pragma once
// The compact breached-password file, version 1: what the builder writes and the reader checks.
//
// What is stored is a 64-bit fingerprint of each breached password: the first 64 bits of its
// SHA-1 (the Pwned Passwords download lists SHA-1 hashes, sorted). The fingerprint is split
// into a bucket number (its top `bucket_bits` bits, implicit in the file's position) and a
// 32-bit remainder (the next 32 bits), which is all that is written per entry:
//
//   offset 0      header page (4096 bytes, little-endian; see BreachedHeader)
//   index_offset  bucket index: 2^bucket_bits + 1 slot numbers (u32), bucket b holding the
//                 slots [start(b), start(b+1)) of the data. Stored in 4096-byte pages of 1024
//                 values that cover 1023 buckets each: page p holds start(1023p) ...
//                 start(1023p + 1023), so a bucket's start and end are always in one page
//                 (the last value of a page repeats as the first of the next).
//   data_offset   remainders (u32), sorted within each bucket, in 4096-byte pages of 1024
//                 slots. A bucket never straddles a page boundary: when the next bucket does
//                 not fit into what is left of a page, the page is filled with the padding
//                 value 0xFFFFFFFF and the bucket starts on the next page. (A real remainder
//                 0xFFFFFFFF is stored and looked up as 0xFFFFFFFE, so padding never matches;
//                 that merge costs 2^-32 of false-positive rate.) Only a bucket of more than
//                 1024 entries - which uniformly distributed SHA-1 never produces - spans pages.
//
// A lookup reads one index page and one data page: at most two pages, whatever the file size.
//
// Sizes. The builder picks bucket_bits so that a bucket holds 16 to 32 entries on average
// (2^bucket_bits >= entries / 32). A password that is not in the list matches when its
// bucket holds its 32-bit remainder: probability (entries per bucket) / 2^32, i.e. at most
// 32 / 2^32 = 7.5e-9, for any number of entries. For a billion entries: bucket_bits = 25,
// 29.8 entries per bucket, false-positive rate 6.9e-9; data 4 bytes per entry plus about 1.5%
// page padding (a page is left with half a bucket free on average), index 4 bytes per bucket
// = 0.13 bytes per entry: 4.2 bytes per entry, 4.2 GB for 1e9 entries.
//
// Limits: slot numbers are u32, so at most 4,294,967,295 slots (entries plus padding).

#include <cstddef>
#include <cstdint>
#include <string>

namespace account_guard::breached {

constexpr char magic[8] = {'A', 'G', 'B', 'R', 'E', 'A', 'C', 'H'};
constexpr std::uint32_t format_version = 1;
constexpr std::uint32_t page_size = 4096;
constexpr std::uint32_t slots_per_page = page_size / 4;        // 1024
constexpr std::uint32_t buckets_per_index_page = slots_per_page - 1; // 1023
constexpr std::uint32_t remainder_bits = 32;
constexpr std::uint32_t padding = 0xFFFFFFFFu;
constexpr std::uint32_t max_bucket_bits = 28;
constexpr std::uint64_t max_slots = 0xFFFFFFFFull;
// Average entries per bucket the builder aims below.
constexpr std::uint64_t target_bucket_entries = 32;

// Header layout (byte offsets); the rest of the header page is zero.
//   0 magic[8]   8 version u32   12 page_size u32   16 bucket_bits u32   20 remainder_bits u32
//  24 entry_count u64   32 slot_count u64   40 index_offset u64   48 index_size u64
//  56 data_offset u64   64 data_size u64    72 file_size u64      80 source_lines u64
//  88 min_count u64     96 reserved[16]     112 checksum[8] (first 8 bytes of the SHA-1 of
//  bytes 0-111)
constexpr std::size_t header_checksum_offset = 112;

struct Header {
	std::uint32_t version = format_version;
	std::uint32_t bucket_bits = 0;
	std::uint64_t entry_count = 0;  // distinct fingerprints stored
	std::uint64_t slot_count = 0;   // data slots, padding included
	std::uint64_t index_offset = 0;
	std::uint64_t index_size = 0;
	std::uint64_t data_offset = 0;
	std::uint64_t data_size = 0;
	std::uint64_t file_size = 0;
	std::uint64_t source_lines = 0; // lines read from the input
	std::uint64_t min_count = 0;    // entries seen fewer times than this were left out
};

// 64-bit fingerprint: the first 8 bytes of a SHA-1 digest, big-endian.
std::uint64_t fingerprint_of_sha1(const unsigned char digest[20]);
std::uint64_t bucket_of(std::uint64_t fingerprint, std::uint32_t bucket_bits);
// The stored remainder (never the padding value).
std::uint32_t remainder_of(std::uint64_t fingerprint, std::uint32_t bucket_bits);

// Smallest bucket_bits with 2^bucket_bits * 32 >= expected_entries (at most max_bucket_bits).
std::uint32_t bucket_bits_for(std::uint64_t expected_entries);

std::uint64_t index_pages(std::uint32_t bucket_bits);
// Where start(bucket) lives in the index, counted in u32 values from index_offset.
inline std::uint64_t index_position(std::uint64_t bucket)
{
	return (bucket / buckets_per_index_page) * slots_per_page + bucket % buckets_per_index_page;
}

// The expected false-positive rate: entries per bucket / 2^32.
double false_positive_rate(std::uint64_t entries, std::uint32_t bucket_bits);

void encode_header(const Header &header, unsigned char page[page_size]);
// Checks magic, version, checksum and internal consistency; file_size is the real size.
// Returns an empty string, or what is wrong ("not a breached-password file", "truncated ...").
std::string decode_header(const unsigned char *data, std::uint64_t file_size, Header &header_r);

inline std::uint32_t load_le32(const unsigned char *p)
{
	return static_cast<std::uint32_t>(p[0]) | static_cast<std::uint32_t>(p[1]) << 8 |
	       static_cast<std::uint32_t>(p[2]) << 16 | static_cast<std::uint32_t>(p[3]) << 24;
}

inline void store_le32(unsigned char *p, std::uint32_t v)
{
	p[0] = static_cast<unsigned char>(v);
	p[1] = static_cast<unsigned char>(v >> 8);
	p[2] = static_cast<unsigned char>(v >> 16);
	p[3] = static_cast<unsigned char>(v >> 24);
}

} // namespace account_guard::breached
