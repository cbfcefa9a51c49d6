#include "breached-format.hh"

#include "sha1.hh"

#include <cstring>

namespace account_guard::breached {

namespace {

void store_le64(unsigned char *p, std::uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = static_cast<unsigned char>(v >> (8 * i));
}

std::uint64_t load_le64(const unsigned char *p)
{
	std::uint64_t v = 0;
	for (int i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

Sha1Digest header_checksum(const unsigned char *page)
{
	return sha1(std::string_view(reinterpret_cast<const char *>(page), header_checksum_offset));
}

} // namespace

std::uint64_t fingerprint_of_sha1(const unsigned char digest[20])
{
	std::uint64_t v = 0;
	for (int i = 0; i < 8; i++)
		v = v << 8 | digest[i];
	return v;
}

std::uint64_t bucket_of(std::uint64_t fingerprint, std::uint32_t bucket_bits)
{
	return bucket_bits == 0 ? 0 : fingerprint >> (64 - bucket_bits);
}

std::uint32_t remainder_of(std::uint64_t fingerprint, std::uint32_t bucket_bits)
{
	std::uint32_t r = static_cast<std::uint32_t>(fingerprint >> (32 - bucket_bits));
	return r == padding ? padding - 1 : r;
}

std::uint32_t bucket_bits_for(std::uint64_t expected_entries)
{
	std::uint32_t bits = 0;
	while (bits < max_bucket_bits && (std::uint64_t{1} << bits) * target_bucket_entries < expected_entries)
		bits++;
	return bits;
}

std::uint64_t index_pages(std::uint32_t bucket_bits)
{
	const std::uint64_t buckets = std::uint64_t{1} << bucket_bits;
	return (buckets + buckets_per_index_page - 1) / buckets_per_index_page;
}

double false_positive_rate(std::uint64_t entries, std::uint32_t bucket_bits)
{
	const double per_bucket = static_cast<double>(entries) / static_cast<double>(std::uint64_t{1} << bucket_bits);
	return per_bucket / 4294967296.0;
}

void encode_header(const Header &h, unsigned char page[page_size])
{
	std::memset(page, 0, page_size);
	std::memcpy(page, magic, sizeof(magic));
	store_le32(page + 8, h.version);
	store_le32(page + 12, page_size);
	store_le32(page + 16, h.bucket_bits);
	store_le32(page + 20, remainder_bits);
	store_le64(page + 24, h.entry_count);
	store_le64(page + 32, h.slot_count);
	store_le64(page + 40, h.index_offset);
	store_le64(page + 48, h.index_size);
	store_le64(page + 56, h.data_offset);
	store_le64(page + 64, h.data_size);
	store_le64(page + 72, h.file_size);
	store_le64(page + 80, h.source_lines);
	store_le64(page + 88, h.min_count);
	Sha1Digest sum = header_checksum(page);
	std::memcpy(page + header_checksum_offset, sum.data(), 8);
}

std::string decode_header(const unsigned char *data, std::uint64_t file_size, Header &h)
{
	if (file_size < sizeof(magic) || std::memcmp(data, magic, sizeof(magic)) != 0)
		return "not a breached-password file (no AGBREACH header); build one with "
		       "account-guard-passwd build-breached";
	if (file_size < page_size)
		return "truncated: shorter than its header";
	h.version = load_le32(data + 8);
	if (h.version != format_version)
		return "unsupported format version " + std::to_string(h.version) + " (this program reads version " +
		       std::to_string(format_version) + "); rebuild it with this account-guard-passwd";
	Sha1Digest sum = header_checksum(data);
	if (std::memcmp(data + header_checksum_offset, sum.data(), 8) != 0)
		return "corrupt: header checksum mismatch";
	if (load_le32(data + 12) != page_size || load_le32(data + 20) != remainder_bits)
		return "corrupt: unexpected page size or remainder width";
	h.bucket_bits = load_le32(data + 16);
	h.entry_count = load_le64(data + 24);
	h.slot_count = load_le64(data + 32);
	h.index_offset = load_le64(data + 40);
	h.index_size = load_le64(data + 48);
	h.data_offset = load_le64(data + 56);
	h.data_size = load_le64(data + 64);
	h.file_size = load_le64(data + 72);
	h.source_lines = load_le64(data + 80);
	h.min_count = load_le64(data + 88);
	if (h.bucket_bits > max_bucket_bits)
		return "corrupt: bucket_bits " + std::to_string(h.bucket_bits) + " out of range";
	if (h.index_offset != page_size || h.index_size != index_pages(h.bucket_bits) * page_size ||
	    h.data_offset != h.index_offset + h.index_size || h.slot_count > max_slots ||
	    h.data_size != h.slot_count * 4 || h.data_size % page_size != 0 ||
	    h.entry_count > h.slot_count || h.file_size != h.data_offset + h.data_size)
		return "corrupt: inconsistent section sizes in the header";
	if (file_size < h.file_size)
		return "truncated: " + std::to_string(file_size) + " bytes, the header says " +
		       std::to_string(h.file_size);
	if (file_size > h.file_size)
		return "corrupt: " + std::to_string(file_size) + " bytes, the header says " +
		       std::to_string(h.file_size);
	return std::string();
}

} // namespace account_guard::breached
