#include "breached-db.hh"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace account_guard {

using namespace breached;

Result<BreachedDb> BreachedDb::open(const std::string &path)
{
	int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return failure(path + ": cannot open: " + std::strerror(errno));
	struct stat st;
	if (fstat(fd, &st) < 0) {
		int e = errno;
		close(fd);
		return failure(path + ": fstat failed: " + std::strerror(e));
	}
	if (!S_ISREG(st.st_mode)) {
		close(fd);
		return failure(path + ": not a regular file");
	}
	if (st.st_size == 0) {
		close(fd);
		return failure(path + ": empty file, not a breached-password file; build one with "
				      "account-guard-passwd build-breached");
	}
	void *map = mmap(nullptr, static_cast<std::size_t>(st.st_size), PROT_READ, MAP_SHARED, fd, 0);
	int e = errno;
	close(fd);
	if (map == MAP_FAILED)
		return failure(path + ": mmap failed: " + std::strerror(e));
	// Lookups jump to one random page of the index and one of the data: read-ahead would
	// only pull in pages nobody asked for.
	(void)madvise(map, static_cast<std::size_t>(st.st_size), MADV_RANDOM);

	BreachedDb db;
	db.path_ = path;
	db.map_ = static_cast<const unsigned char *>(map);
	db.map_size_ = static_cast<std::size_t>(st.st_size);
	std::string problem = decode_header(db.map_, db.map_size_, db.header_);
	if (!problem.empty())
		return failure(path + ": " + problem);
	// The index must start at slot 0 and end at the last slot. (Reading its first and last
	// value costs two pages once; the values in between are checked at each lookup.)
	const std::uint64_t buckets = std::uint64_t{1} << db.header_.bucket_bits;
	auto first = db.bucket_range(0);
	auto last = db.bucket_range(buckets - 1);
	if (!first || !last || first->first != 0 || last->second != db.header_.slot_count)
		return failure(path + ": corrupt: the bucket index does not cover the data");
	return db;
}

BreachedDb::BreachedDb(BreachedDb &&other) noexcept
	: path_(std::move(other.path_)), map_(other.map_), map_size_(other.map_size_), header_(other.header_)
{
	other.map_ = nullptr;
	other.map_size_ = 0;
}

BreachedDb &BreachedDb::operator=(BreachedDb &&other) noexcept
{
	if (this != &other) {
		release();
		path_ = std::move(other.path_);
		map_ = other.map_;
		map_size_ = other.map_size_;
		header_ = other.header_;
		other.map_ = nullptr;
		other.map_size_ = 0;
	}
	return *this;
}

BreachedDb::~BreachedDb()
{
	release();
}

void BreachedDb::release()
{
	if (map_ != nullptr)
		munmap(const_cast<unsigned char *>(map_), map_size_);
	map_ = nullptr;
	map_size_ = 0;
}

double BreachedDb::false_positive_rate() const
{
	return breached::false_positive_rate(header_.entry_count, header_.bucket_bits);
}

Result<std::pair<std::uint64_t, std::uint64_t>> BreachedDb::bucket_range(std::uint64_t bucket) const
{
	// start(bucket) and start(bucket + 1) are neighbours within one index page.
	const unsigned char *p = map_ + header_.index_offset + index_position(bucket) * 4;
	const std::uint64_t start = load_le32(p);
	const std::uint64_t end = load_le32(p + 4);
	if (start > end || end > header_.slot_count)
		return failure(path_ + ": corrupt: bucket " + std::to_string(bucket) + " has slots " +
			       std::to_string(start) + "-" + std::to_string(end) + " of " +
			       std::to_string(header_.slot_count));
	return std::make_pair(start, end);
}

Result<bool> BreachedDb::contains_sha1(const Sha1Digest &digest) const
{
	const std::uint64_t fp = fingerprint_of_sha1(digest.data());
	auto range = bucket_range(bucket_of(fp, header_.bucket_bits));
	if (!range)
		return failure(range.error());
	const std::uint32_t want = remainder_of(fp, header_.bucket_bits);
	const unsigned char *data = map_ + header_.data_offset;
	// Binary search for want in the sorted slots (padding, the largest value, at the end).
	std::uint64_t lo = range->first, hi = range->second;
	while (lo < hi) {
		std::uint64_t mid = lo + (hi - lo) / 2;
		if (load_le32(data + mid * 4) < want)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < range->second && load_le32(data + lo * 4) == want;
}

Result<bool> BreachedDb::contains(std::string_view password) const
{
	return contains_sha1(sha1(password));
}

} // namespace account_guard
