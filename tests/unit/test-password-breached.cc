// The compact breached-password file: builder, lookup, layout guarantees, bad input and
// corrupt files. Every hash here is computed by the test (SHA-1 of generated passwords).
#include "breached-builder.hh"
#include "breached-db.hh"
#include "breached-format.hh"
#include "sha1.hh"

#include <catch2/catch.hpp>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <dirent.h>
#include <fstream>
#include <random>
#include <sstream>
#include <thread>
#include <string>
#include <vector>

using namespace account_guard;

namespace {

struct TempDir {
	std::string path;
	TempDir()
	{
		char templ[] = "/tmp/ag-breached-test-XXXXXX";
		REQUIRE(mkdtemp(templ) != nullptr);
		path = templ;
	}
	~TempDir()
	{
		std::string cmd = "rm -rf '" + path + "'";
		(void)!std::system(cmd.c_str());
	}
	std::string operator/(const std::string &name) const { return path + "/" + name; }
	std::vector<std::string> files() const
	{
		std::vector<std::string> names;
		DIR *d = opendir(path.c_str());
		while (struct dirent *e = readdir(d)) {
			if (e->d_name[0] != '.')
				names.push_back(e->d_name);
		}
		closedir(d);
		std::sort(names.begin(), names.end());
		return names;
	}
};

std::string hex(const Sha1Digest &d, bool upper = true)
{
	const char *digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
	std::string s;
	for (unsigned char c : d) {
		s += digits[c >> 4];
		s += digits[c & 15];
	}
	return s;
}

std::string password(std::size_t i)
{
	return "breached-password-" + std::to_string(i);
}

// "SHA1:count" lines for passwords 0..n-1, sorted by hash.
std::vector<std::string> pwned_lines(std::size_t n)
{
	std::vector<std::string> lines;
	lines.reserve(n);
	for (std::size_t i = 0; i < n; i++)
		lines.push_back(hex(sha1(password(i))) + ":" + std::to_string(i % 100 + 1));
	std::sort(lines.begin(), lines.end());
	return lines;
}

void write_file(const std::string &path, const std::string &content)
{
	std::ofstream f(path, std::ios::binary | std::ios::trunc);
	f << content;
}

std::string read_file(const std::string &path)
{
	std::ifstream f(path, std::ios::binary);
	std::stringstream ss;
	ss << f.rdbuf();
	return ss.str();
}

std::string join_lines(const std::vector<std::string> &lines, const std::string &eol = "\n")
{
	std::string s;
	for (const std::string &l : lines)
		s += l + eol;
	return s;
}

BreachedDb open_ok(const std::string &path)
{
	auto db = BreachedDb::open(path);
	INFO((db.ok() ? "" : db.error()));
	REQUIRE(db.ok());
	return std::move(*db);
}

std::string open_error(const std::string &path)
{
	auto db = BreachedDb::open(path);
	return db.ok() ? "" : db.error();
}

bool contains(const BreachedDb &db, const std::string &pw)
{
	auto r = db.contains(pw);
	REQUIRE(r.ok());
	return *r;
}

} // namespace

TEST_CASE("breached file: widths give ~4 bytes per entry and ~1e-8 false positives at 1e9")
{
	using namespace breached;
	CHECK(bucket_bits_for(0) == 0);
	CHECK(bucket_bits_for(32) == 0);
	CHECK(bucket_bits_for(33) == 1);
	CHECK(bucket_bits_for(10000000) == 19);
	CHECK(bucket_bits_for(1000000000) == 25);
	CHECK(bucket_bits_for(UINT64_MAX) == max_bucket_bits);
	// A billion entries: 29.8 per bucket, 2^-32 each.
	const double fp = false_positive_rate(1000000000, 25);
	CHECK(fp > 6e-9);
	CHECK(fp < 7.5e-9);
	// Index bytes per entry at 1e9: 2^25 buckets in pages of 1023.
	const double index_per_entry = static_cast<double>(index_pages(25) * page_size) / 1e9;
	CHECK(index_per_entry < 0.14);
	// The 0xFFFFFFFF remainder is reserved for padding.
	CHECK(remainder_of(0x00000000FFFFFFFFull, 32) == 0xFFFFFFFEu);
	CHECK(remainder_of(0xFFFFFFFF00000000ull, 0) == 0xFFFFFFFEu);
	CHECK(remainder_of(0x123456789ABCDEF0ull, 0) == 0x12345678u);
	CHECK(remainder_of(0x123456789ABCDEF0ull, 4) == 0x23456789u);
	CHECK(bucket_of(0x123456789ABCDEF0ull, 4) == 1);
	CHECK(bucket_of(0x123456789ABCDEF0ull, 0) == 0);
}

TEST_CASE("breached file: every listed password is found, others are not")
{
	TempDir dir;
	const std::size_t n = 20000;
	write_file(dir / "pwned.txt", join_lines(pwned_lines(n), "\r\n")); // the download uses CRLF
	auto stats = build_breached_file(dir / "pwned.txt", dir / "pwned.bin", {});
	REQUIRE(stats.ok());
	CHECK(stats->lines == n);
	CHECK(stats->entries == n);
	CHECK(stats->duplicates == 0);
	CHECK(stats->file_bytes == static_cast<std::uint64_t>(read_file(dir / "pwned.bin").size()));
	CHECK(stats->file_bytes % 4096 == 0);

	BreachedDb db = open_ok(dir / "pwned.bin");
	CHECK(db.header().entry_count == n);
	CHECK(db.header().source_lines == n);
	for (std::size_t i = 0; i < n; i++)
		REQUIRE(contains(db, password(i)));
	std::size_t false_positives = 0;
	for (std::size_t i = n; i < n + 200000; i++)
		false_positives += contains(db, password(i)) ? 1 : 0;
	// Expected 200000 * 2e-9 = 0.0004.
	CHECK(false_positives == 0);
	CHECK(db.false_positive_rate() < 1e-8);
	// No temporary file is left behind.
	CHECK(dir.files() == std::vector<std::string>{"pwned.bin", "pwned.txt"});
}

TEST_CASE("breached file: a lookup touches one index page and one data page")
{
	TempDir dir;
	write_file(dir / "pwned.txt", join_lines(pwned_lines(50000)));
	BreachedBuildOptions options;
	options.expected_entries = 50000;
	REQUIRE(build_breached_file(dir / "pwned.txt", dir / "pwned.bin", options).ok());
	BreachedDb db = open_ok(dir / "pwned.bin");
	const std::uint64_t buckets = std::uint64_t{1} << db.header().bucket_bits;
	CHECK(db.header().bucket_bits == breached::bucket_bits_for(50000));
	std::uint64_t prev_end = 0;
	for (std::uint64_t b = 0; b < buckets; b++) {
		auto r = db.bucket_range(b);
		REQUIRE(r.ok());
		// Contiguous, and each bucket (with its padding) inside one 1024-slot page.
		REQUIRE(r->first == prev_end);
		if (r->second > r->first)
			REQUIRE(r->first / 1024 == (r->second - 1) / 1024);
		// start(b) and start(b+1) share an index page.
		REQUIRE(breached::index_position(b) / 1024 == (breached::index_position(b) + 1) / 1024);
		prev_end = r->second;
	}
	CHECK(prev_end == db.header().slot_count);
	// Padding costs little: slots are within a few percent of entries.
	CHECK(static_cast<double>(db.header().slot_count) < 1.06 * static_cast<double>(db.header().entry_count) + 1024);
}

TEST_CASE("breached file: buckets bigger than a page still work")
{
	TempDir dir;
	// --entries 1 makes one bucket for all 5000 entries: it has to span pages.
	write_file(dir / "pwned.txt", join_lines(pwned_lines(5000)));
	BreachedBuildOptions options;
	options.expected_entries = 1;
	auto stats = build_breached_file(dir / "pwned.txt", dir / "pwned.bin", options);
	REQUIRE(stats.ok());
	CHECK(stats->bucket_bits == 0);
	BreachedDb db = open_ok(dir / "pwned.bin");
	for (std::size_t i = 0; i < 5000; i++)
		REQUIRE(contains(db, password(i)));
	CHECK_FALSE(contains(db, password(5000)));
}

TEST_CASE("breached file: input variants")
{
	TempDir dir;
	std::vector<std::string> lines = pwned_lines(300);
	SECTION("lowercase hex, no counts, no final newline, blank lines")
	{
		std::string text;
		for (std::size_t i = 0; i < lines.size(); i++) {
			std::string h = lines[i].substr(0, 40);
			std::transform(h.begin(), h.end(), h.begin(), ::tolower);
			text += h;
			if (i % 50 == 0)
				text += "\n";
			if (i + 1 < lines.size())
				text += "\n";
		}
		write_file(dir / "in.txt", text);
		auto stats = build_breached_file(dir / "in.txt", dir / "out.bin", {});
		REQUIRE(stats.ok());
		CHECK(stats->entries == 300);
		BreachedDb db = open_ok(dir / "out.bin");
		for (std::size_t i = 0; i < 300; i++)
			REQUIRE(contains(db, password(i)));
	}
	SECTION("duplicate lines are stored once")
	{
		std::vector<std::string> doubled;
		for (const std::string &l : lines) {
			doubled.push_back(l);
			doubled.push_back(l);
		}
		write_file(dir / "in.txt", join_lines(doubled));
		auto stats = build_breached_file(dir / "in.txt", dir / "out.bin", {});
		REQUIRE(stats.ok());
		CHECK(stats->entries == 300);
		CHECK(stats->duplicates == 300);
	}
	SECTION("--min-count leaves out rare hashes")
	{
		// Counts are i % 100 + 1: with min_count 51, half of them stay.
		BreachedBuildOptions options;
		options.min_count = 51;
		write_file(dir / "in.txt", join_lines(lines));
		auto stats = build_breached_file(dir / "in.txt", dir / "out.bin", options);
		REQUIRE(stats.ok());
		CHECK(stats->entries == 150);
		CHECK(stats->below_min_count == 150);
		BreachedDb db = open_ok(dir / "out.bin");
		CHECK(db.header().min_count == 51);
		for (std::size_t i = 0; i < 300; i++)
			REQUIRE(contains(db, password(i)) == (i % 100 + 1 >= 51));
	}
	SECTION("an empty input gives an empty, valid file")
	{
		write_file(dir / "in.txt", "");
		auto stats = build_breached_file(dir / "in.txt", dir / "out.bin", {});
		REQUIRE(stats.ok());
		CHECK(stats->entries == 0);
		BreachedDb db = open_ok(dir / "out.bin");
		CHECK_FALSE(contains(db, "anything"));
	}
}

TEST_CASE("breached file: bad input fails with the line and leaves no output")
{
	TempDir dir;
	std::vector<std::string> lines = pwned_lines(10);
	write_file(dir / "out.bin", "previous file");
	struct Row {
		std::string name;
		std::string content;
		std::string error;
	};
	std::vector<std::string> unsorted = lines;
	std::swap(unsorted[3], unsorted[4]);
	const std::vector<Row> rows = {
		{"unsorted", join_lines(unsorted),
		 "line 5: not sorted: this hash is smaller than the one before it (sort the input by hash first, "
		 "e.g. LC_ALL=C sort)"},
		{"ntlm", "8846F7EAEE8FB117AD06BDD830B7586C:3\n",
		 "line 1: expected a 40-digit SHA-1 hash, found 32 hex digits (this looks like the NTLM download; "
		 "use the SHA-1 one)"},
		{"garbage", lines[0] + "\nhello world\n", "line 2: expected a 40-digit hex SHA-1 hash, then ':' and a count"},
		{"bad count", lines[0].substr(0, 40) + ":12x\n", "line 1: the count after ':' must be a whole number"},
		{"missing count", lines[0].substr(0, 40) + ":\n", "line 1: expected ':' and a count after the hash"},
		{"long line", std::string(2 << 20, 'A'), "line 1: line too long (not a SHA1:count list?)"},
	};
	for (const Row &row : rows) {
		CAPTURE(row.name);
		write_file(dir / "in.txt", row.content);
		auto stats = build_breached_file(dir / "in.txt", dir / "out.bin", {});
		REQUIRE_FALSE(stats.ok());
		CHECK(stats.error() == dir / "in.txt" + " " + row.error);
		CHECK(read_file(dir / "out.bin") == "previous file");
		CHECK(dir.files() == std::vector<std::string>{"in.txt", "out.bin"});
	}
	auto missing = build_breached_file(dir / "nope.txt", dir / "out.bin", {});
	REQUIRE_FALSE(missing.ok());
	CHECK(missing.error() == dir / "nope.txt" + ": cannot open: No such file or directory");
	auto no_dir = build_breached_file(dir / "in.txt", dir / "nodir/out.bin", {});
	REQUIRE_FALSE(no_dir.ok());
	CHECK(no_dir.error().find("cannot create a temporary file next to it") != std::string::npos);
}

TEST_CASE("breached file: a pipe needs --entries")
{
	TempDir dir;
	REQUIRE(mkfifo((dir / "fifo").c_str(), 0600) == 0);
	// Opening a FIFO for reading blocks until a writer comes: give it one.
	int wfd = -1;
	std::thread writer([&] {
		wfd = open((dir / "fifo").c_str(), O_WRONLY);
	});
	auto stats = build_breached_file(dir / "fifo", dir / "out.bin", {});
	writer.join();
	if (wfd >= 0)
		close(wfd);
	REQUIRE_FALSE(stats.ok());
	CHECK(stats.error() == dir / "fifo" + ": not a regular file, so its number of entries cannot be "
					  "estimated: pass --entries N (an estimate is enough)");
}

TEST_CASE("breached file: corrupt and truncated files are refused with a clear error")
{
	TempDir dir;
	write_file(dir / "in.txt", join_lines(pwned_lines(3000)));
	REQUIRE(build_breached_file(dir / "in.txt", dir / "good.bin", {}).ok());
	const std::string good = read_file(dir / "good.bin");
	const std::string path = dir / "bad.bin";

	SECTION("missing")
	{
		CHECK(open_error(dir / "missing.bin") == dir / "missing.bin" + ": cannot open: No such file or directory");
	}
	SECTION("empty")
	{
		write_file(path, "");
		CHECK(open_error(path) == path + ": empty file, not a breached-password file; build one with "
						 "account-guard-passwd build-breached");
	}
	SECTION("not ours")
	{
		write_file(path, read_file(dir / "in.txt"));
		CHECK(open_error(path) == path + ": not a breached-password file (no AGBREACH header); build one "
						 "with account-guard-passwd build-breached");
	}
	SECTION("truncated in the header")
	{
		write_file(path, good.substr(0, 100));
		CHECK(open_error(path) == path + ": truncated: shorter than its header");
	}
	SECTION("truncated in the data")
	{
		write_file(path, good.substr(0, good.size() - 4096));
		CHECK(open_error(path) == path + ": truncated: " + std::to_string(good.size() - 4096) +
						 " bytes, the header says " + std::to_string(good.size()));
	}
	SECTION("bytes appended")
	{
		write_file(path, good + "x");
		CHECK(open_error(path) == path + ": corrupt: " + std::to_string(good.size() + 1) +
						 " bytes, the header says " + std::to_string(good.size()));
	}
	SECTION("header damaged")
	{
		std::string bad = good;
		bad[30] ^= 1; // in entry_count
		write_file(path, bad);
		CHECK(open_error(path) == path + ": corrupt: header checksum mismatch");
	}
	SECTION("another format version")
	{
		breached::Header h;
		REQUIRE(breached::decode_header(reinterpret_cast<const unsigned char *>(good.data()), good.size(), h).empty());
		h.version = 2;
		std::string bad = good;
		breached::encode_header(h, reinterpret_cast<unsigned char *>(&bad[0]));
		write_file(path, bad);
		CHECK(open_error(path) == path + ": unsupported format version 2 (this program reads version 1); "
						 "rebuild it with this account-guard-passwd");
	}
	SECTION("index damaged")
	{
		// Overwrite start(64) with a slot beyond the data: found at lookup, not at open.
		breached::Header h;
		REQUIRE(breached::decode_header(reinterpret_cast<const unsigned char *>(good.data()), good.size(), h).empty());
		REQUIRE(h.bucket_bits >= 7);
		std::string bad = good;
		breached::store_le32(reinterpret_cast<unsigned char *>(&bad[4096 + breached::index_position(64) * 4]),
				     0x7fffffff);
		write_file(path, bad);
		BreachedDb db = open_ok(path);
		bool seen_error = false;
		for (std::size_t i = 0; i < 3000 && !seen_error; i++) {
			auto r = db.contains(password(i));
			if (!r.ok()) {
				seen_error = true;
				CHECK(r.error().rfind(path + ": corrupt: bucket ", 0) == 0);
			}
		}
		CHECK(seen_error);
	}
	SECTION("index not covering the data")
	{
		std::string bad = good;
		breached::store_le32(reinterpret_cast<unsigned char *>(&bad[4096]), 1); // start(0) must be 0
		write_file(path, bad);
		CHECK(open_error(path) == path + ": corrupt: the bucket index does not cover the data");
	}
}

TEST_CASE("breached file: the output is replaced only when complete")
{
	TempDir dir;
	write_file(dir / "a.txt", join_lines(pwned_lines(100)));
	REQUIRE(build_breached_file(dir / "a.txt", dir / "out.bin", {}).ok());
	// A reader holding the old file keeps a consistent view while a new one is built.
	BreachedDb old_db = open_ok(dir / "out.bin");
	std::vector<std::string> more = pwned_lines(200);
	write_file(dir / "b.txt", join_lines(more));
	REQUIRE(build_breached_file(dir / "b.txt", dir / "out.bin", {}).ok());
	CHECK(contains(old_db, password(50)));
	CHECK_FALSE(contains(old_db, password(150)));
	BreachedDb new_db = open_ok(dir / "out.bin");
	CHECK(contains(new_db, password(150)));
	struct stat st;
	REQUIRE(stat((dir / "out.bin").c_str(), &st) == 0);
	CHECK((st.st_mode & 0777) == 0644);
}
