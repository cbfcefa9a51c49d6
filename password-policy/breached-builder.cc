#include "breached-builder.hh"

#include "file-util.hh"

#include "breached-format.hh"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <libgen.h>
#include <stdexcept>
#include <vector>

namespace account_guard {

using namespace breached;

namespace {

// Internal to this file: a failure in the middle of the streaming loop, turned into a
// Result at build_breached_file()'s boundary.
class BuildError : public std::runtime_error {
public:
	using std::runtime_error::runtime_error;
};

std::string errno_text(const char *what, const std::string &path)
{
	return path + ": " + what + ": " + std::strerror(errno);
}

// Sequential writes into one region of a file, through a buffer, with pwrite.
class RegionWriter {
public:
	RegionWriter(int fd, std::uint64_t offset, const std::string &path)
		: fd_(fd), offset_(offset), path_(path)
	{
		buf_.reserve(buffer_size);
	}

	void put_le32(std::uint32_t v)
	{
		unsigned char b[4];
		store_le32(b, v);
		buf_.insert(buf_.end(), b, b + 4);
		if (buf_.size() >= buffer_size)
			flush();
	}

	void put(const unsigned char *data, std::size_t size)
	{
		buf_.insert(buf_.end(), data, data + size);
		if (buf_.size() >= buffer_size)
			flush();
	}

	void flush()
	{
		std::size_t done = 0;
		while (done < buf_.size()) {
			ssize_t n = pwrite(fd_, buf_.data() + done, buf_.size() - done,
					   static_cast<off_t>(offset_ + done));
			if (n < 0) {
				if (errno == EINTR)
					continue;
				throw BuildError(errno_text("write failed", path_));
			}
			done += static_cast<std::size_t>(n);
		}
		offset_ += buf_.size();
		buf_.clear();
	}

private:
	static constexpr std::size_t buffer_size = 1 << 20;
	int fd_;
	std::uint64_t offset_;
	const std::string &path_;
	std::vector<unsigned char> buf_;
};

// Lays fingerprints (given in ascending order) out into the index and data sections.
class Writer {
public:
	Writer(int fd, std::uint32_t bucket_bits, const std::string &path)
		: bits_(bucket_bits), buckets_(std::uint64_t{1} << bucket_bits),
		  index_(fd, page_size, path),
		  data_(fd, page_size + index_pages(bucket_bits) * page_size, path)
	{
		bucket_.reserve(slots_per_page);
		index_page_.assign(slots_per_page, 0);
	}

	std::uint64_t data_offset() const { return page_size + index_pages(bits_) * page_size; }

	// Returns false if the fingerprint was already stored (a duplicate).
	bool add(std::uint64_t fingerprint)
	{
		const std::uint64_t bucket = bucket_of(fingerprint, bits_);
		const std::uint32_t rem = remainder_of(fingerprint, bits_);
		if (have_bucket_ && bucket == cur_bucket_) {
			if (rem == last_rem_)
				return false;
		} else {
			end_bucket();
			have_bucket_ = true;
			cur_bucket_ = bucket;
		}
		last_rem_ = rem;
		if (streaming_) {
			write_slot(rem);
		} else if (bucket_.size() < slots_per_page) {
			bucket_.push_back(rem);
		} else {
			// More than a page in one bucket (never for real SHA-1 lists): no padding can
			// keep it in one page, so it simply continues across pages from here on.
			record_starts_through(cur_bucket_, pos_);
			for (std::uint32_t r : bucket_)
				write_slot(r);
			bucket_.clear();
			write_slot(rem);
			streaming_ = true;
		}
		entries_++;
		return true;
	}

	// Pads the last page, completes the index; returns the slot count.
	std::uint64_t finish()
	{
		end_bucket();
		while (pos_ % slots_per_page != 0)
			write_slot(padding);
		record_starts_through(buckets_, pos_); // start(buckets_) is the end of the last bucket
		// 2^bits is never a multiple of 1023, so the end value sits inside the last index
		// page; the rest of that page repeats it (keeps the index monotonic).
		const std::uint64_t last = buckets_ % buckets_per_index_page;
		for (std::uint64_t i = last + 1; i < slots_per_page; i++)
			index_page_[i] = index_page_[last];
		write_index_page();
		index_.flush();
		data_.flush();
		return pos_;
	}

	std::uint64_t entries() const { return entries_; }

private:
	void end_bucket()
	{
		if (!have_bucket_)
			return;
		if (!streaming_) {
			const std::uint64_t size = bucket_.size();
			const std::uint64_t room = slots_per_page - pos_ % slots_per_page;
			if (size > room) {
				// Start the bucket on a fresh page; the padding joins the previous bucket.
				for (std::uint64_t i = 0; i < room; i++)
					write_slot(padding);
			}
			record_starts_through(cur_bucket_, pos_);
			for (std::uint32_t r : bucket_)
				write_slot(r);
		}
		bucket_.clear();
		streaming_ = false;
		have_bucket_ = false;
	}

	void write_slot(std::uint32_t value)
	{
		if (pos_ >= max_slots)
			throw BuildError("too many entries for the file format (at most 4294967295 slots)");
		data_.put_le32(value);
		pos_++;
	}

	// Sets start(b) = slot for every bucket not yet recorded up to and including bucket
	// (buckets_ stands for the end value after the last bucket).
	void record_starts_through(std::uint64_t bucket, std::uint64_t slot)
	{
		while (index_next_ <= bucket)
			record_index_value(slot);
	}

	// Appends start(index_next_) to the index (page layout in breached-format.hh).
	void record_index_value(std::uint64_t slot)
	{
		const std::uint32_t v = static_cast<std::uint32_t>(slot);
		const std::uint64_t in_page = index_next_ % buckets_per_index_page;
		if (in_page == 0 && index_next_ > 0) {
			// start(1023p) closes page p-1 and opens page p.
			index_page_[buckets_per_index_page] = v;
			write_index_page();
		}
		index_page_[in_page] = v;
		index_next_++;
	}

	void write_index_page()
	{
		for (std::uint32_t v : index_page_)
			index_.put_le32(v);
	}

	std::uint32_t bits_;
	std::uint64_t buckets_;
	RegionWriter index_;
	RegionWriter data_;
	std::vector<std::uint32_t> bucket_;
	std::vector<std::uint32_t> index_page_;
	std::uint64_t index_next_ = 0; // next bucket whose start is to be recorded
	std::uint64_t cur_bucket_ = 0;
	bool have_bucket_ = false;
	bool streaming_ = false;
	std::uint32_t last_rem_ = 0;
	std::uint64_t pos_ = 0; // next data slot
	std::uint64_t entries_ = 0;
};

int hex_value(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c |= 0x20;
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

// Hex digit values, 0xFF for anything else: parsing 40 digits per line is most of the
// builder's time, and a table lookup per digit is about three times faster than comparisons.
struct HexTable {
	unsigned char value[256];
	constexpr HexTable() : value()
	{
		for (int c = 0; c < 256; c++)
			value[c] = 0xFF;
		for (int c = '0'; c <= '9'; c++)
			value[c] = static_cast<unsigned char>(c - '0');
		for (int c = 'a'; c <= 'f'; c++)
			value[c] = value[c - 'a' + 'A'] = static_cast<unsigned char>(c - 'a' + 10);
	}
};
constexpr HexTable hex_table;

// Decodes 40 hex digits; false if any is not one.
bool decode_hash(const char *p, unsigned char out[20])
{
	unsigned char bad = 0;
	for (int i = 0; i < 20; i++) {
		unsigned char hi = hex_table.value[static_cast<unsigned char>(p[2 * i])];
		unsigned char lo = hex_table.value[static_cast<unsigned char>(p[2 * i + 1])];
		bad |= hi | lo;
		out[i] = static_cast<unsigned char>(hi << 4 | (lo & 0x0F));
	}
	return (bad & 0xF0) == 0;
}

struct ParsedLine {
	bool empty = false;
	unsigned char hash[20];
	bool has_count = false;
	std::uint64_t count = 0;
};

// "HASH" or "HASH:COUNT", HASH 40 hex digits, an optional CR before the newline.
void parse_line(const char *p, std::size_t n, std::uint64_t line_no, const std::string &input,
		ParsedLine &out)
{
	if (n > 0 && p[n - 1] == '\r')
		n--;
	out.empty = n == 0;
	if (out.empty)
		return;
	auto bad = [&](const std::string &what) {
		throw BuildError(input + " line " + std::to_string(line_no) + ": " + what);
	};
	if (n < 40 || !decode_hash(p, out.hash) || (n > 40 && hex_value(static_cast<unsigned char>(p[40])) >= 0)) {
		// Not exactly 40 hex digits: say what it looks like instead.
		std::size_t digits = 0;
		while (digits < n && hex_value(static_cast<unsigned char>(p[digits])) >= 0)
			digits++;
		if (digits == 32)
			bad("expected a 40-digit SHA-1 hash, found 32 hex digits (this looks like the NTLM "
			    "download; use the SHA-1 one)");
		bad("expected a 40-digit hex SHA-1 hash, then ':' and a count");
	}
	out.has_count = false;
	if (n == 40)
		return;
	if (p[40] != ':' || n == 41 || n - 41 > 19)
		bad("expected ':' and a count after the hash");
	std::uint64_t count = 0;
	for (std::size_t i = 41; i < n; i++) {
		if (p[i] < '0' || p[i] > '9')
			bad("the count after ':' must be a whole number");
		count = count * 10 + static_cast<std::uint64_t>(p[i] - '0');
	}
	out.has_count = true;
	out.count = count;
}

BreachedBuildStats build(const std::string &input, const std::string &output,
			 const BreachedBuildOptions &options)
{
	Fd in;
	if (input == "-") {
		in.fd = dup(STDIN_FILENO);
		if (in.fd < 0)
			throw BuildError(errno_text("dup failed", "stdin"));
	} else {
		in.fd = open(input.c_str(), O_RDONLY | O_CLOEXEC);
		if (in.fd < 0)
			throw BuildError(errno_text("cannot open", input));
	}
	std::uint64_t expected = options.expected_entries;
	if (expected == 0) {
		struct stat st;
		if (fstat(in.fd, &st) < 0)
			throw BuildError(errno_text("fstat failed", input));
		if (!S_ISREG(st.st_mode))
			throw BuildError(input + ": not a regular file, so its number of entries cannot be "
						 "estimated: pass --entries N (an estimate is enough)");
		expected = static_cast<std::uint64_t>(st.st_size) / 44 + 1;
	}
	const std::uint32_t bits = bucket_bits_for(expected);

	TempFile tmp;
	Fd out;
	{
		std::string templ = output + ".tmp.XXXXXX";
		std::vector<char> name(templ.begin(), templ.end());
		name.push_back('\0');
		out.fd = mkostemp(name.data(), O_CLOEXEC);
		if (out.fd < 0)
			throw BuildError(errno_text("cannot create a temporary file next to it", output));
		tmp.path = name.data();
		// Readable by the processes that check passwords; the content is public data.
		(void)fchmod(out.fd, 0644);
	}

	Writer writer(out.fd, bits, tmp.path);
	BreachedBuildStats stats;
	stats.bucket_bits = bits;

	std::vector<char> buf(1 << 20);
	std::size_t have = 0;
	std::uint64_t line_no = 0;
	unsigned char prev[20];
	bool have_prev = false;
	ParsedLine line;
	bool eof = false;
	while (!eof) {
		ssize_t n = read(in.fd, buf.data() + have, buf.size() - have);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			throw BuildError(errno_text("read failed", input));
		}
		if (n == 0) {
			eof = true;
			if (have > 0 && buf[have - 1] != '\n')
				buf[have++] = '\n'; // a last line without newline (room: see below)
		}
		have += static_cast<std::size_t>(n);
		std::size_t start = 0;
		for (;;) {
			const char *nl = static_cast<const char *>(std::memchr(buf.data() + start, '\n', have - start));
			if (nl == nullptr)
				break;
			std::size_t len = static_cast<std::size_t>(nl - (buf.data() + start));
			line_no++;
			parse_line(buf.data() + start, len, line_no, input, line);
			start += len + 1;
			if (line.empty)
				continue;
			if (have_prev) {
				int cmp = std::memcmp(line.hash, prev, 20);
				if (cmp < 0)
					throw BuildError(input + " line " + std::to_string(line_no) +
							 ": not sorted: this hash is smaller than the one before it "
							 "(sort the input by hash first, e.g. LC_ALL=C sort)");
				if (cmp == 0) {
					stats.duplicates++;
					continue;
				}
			}
			std::memcpy(prev, line.hash, 20);
			have_prev = true;
			if (options.min_count > 1 && line.has_count && line.count < options.min_count) {
				stats.below_min_count++;
				continue;
			}
			if (!writer.add(fingerprint_of_sha1(line.hash)))
				stats.duplicates++;
		}
		std::memmove(buf.data(), buf.data() + start, have - start);
		have -= start;
		// Keep one byte free for the final newline added at end of input.
		if (have >= buf.size() - 1)
			throw BuildError(input + " line " + std::to_string(line_no + 1) +
					 ": line too long (not a SHA1:count list?)");
	}
	stats.lines = line_no;
	stats.entries = writer.entries();
	const std::uint64_t slots = writer.finish();

	Header h;
	h.bucket_bits = bits;
	h.entry_count = stats.entries;
	h.slot_count = slots;
	h.index_offset = page_size;
	h.index_size = index_pages(bits) * page_size;
	h.data_offset = writer.data_offset();
	h.data_size = slots * 4;
	h.file_size = h.data_offset + h.data_size;
	h.source_lines = stats.lines;
	h.min_count = options.min_count;
	unsigned char page[page_size];
	encode_header(h, page);
	RegionWriter header_writer(out.fd, 0, tmp.path);
	header_writer.put(page, page_size);
	header_writer.flush();
	if (ftruncate(out.fd, static_cast<off_t>(h.file_size)) < 0)
		throw BuildError(errno_text("ftruncate failed", tmp.path));
	if (fsync(out.fd) < 0)
		throw BuildError(errno_text("fsync failed", tmp.path));
	if (rename(tmp.path.c_str(), output.c_str()) < 0)
		throw BuildError(errno_text("rename failed", output));
	tmp.committed = true;
	Fd dir;
	dir.fd = open(directory_of(output).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dir.fd >= 0)
		(void)fsync(dir.fd);

	stats.file_bytes = h.file_size;
	stats.false_positive_rate = false_positive_rate(stats.entries, bits);
	return stats;
}

} // namespace

Result<BreachedBuildStats> build_breached_file(const std::string &input, const std::string &output,
					       const BreachedBuildOptions &options)
{
	try {
		return build(input, output, options);
	} catch (const BuildError &e) {
		return failure(e.what());
	} catch (const std::bad_alloc &) {
		return failure("out of memory");
	}
}

} // namespace account_guard
