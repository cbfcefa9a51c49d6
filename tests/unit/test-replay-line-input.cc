#include "line-input.hh"

#include <catch2/catch.hpp>

#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>
#include <vector>
#include <zlib.h>

using account_guard::replay::LineInput;

namespace {

// A scratch directory, removed with its files.
struct TempDir {
	std::string path;
	std::vector<std::string> files;

	TempDir()
	{
		char name[] = "/tmp/test-replay-input-XXXXXX";
		REQUIRE(mkdtemp(name) != nullptr);
		path = name;
	}
	~TempDir()
	{
		for (const std::string &f : files)
			unlink(f.c_str());
		rmdir(path.c_str());
	}
	std::string write(const std::string &name, const std::string &content)
	{
		std::string file = path + "/" + name;
		FILE *f = std::fopen(file.c_str(), "wb");
		REQUIRE(f != nullptr);
		REQUIRE(std::fwrite(content.data(), 1, content.size(), f) == content.size());
		std::fclose(f);
		files.push_back(file);
		return file;
	}
	std::string write_gz(const std::string &name, const std::string &content)
	{
		std::string file = path + "/" + name;
		gzFile gz = gzopen(file.c_str(), "wb");
		REQUIRE(gz != nullptr);
		REQUIRE(gzwrite(gz, content.data(), unsigned(content.size())) == int(content.size()));
		gzclose(gz);
		files.push_back(file);
		return file;
	}
};

std::vector<std::string> read_all(const std::string &file)
{
	LineInput in(file);
	std::vector<std::string> lines;
	std::string_view line;
	while (in.next(line)) {
		lines.emplace_back(line);
		CHECK(in.line_number() == lines.size());
	}
	CHECK_FALSE(in.next(line)); // and stays at the end
	return lines;
}

} // namespace

TEST_CASE("replay line input: plain and gzip files read alike")
{
	TempDir dir;
	std::string text = "one\ntwo\n\nfour\n";
	std::vector<std::string> expected{"one", "two", "", "four"};
	CHECK(read_all(dir.write("plain.log", text)) == expected);
	CHECK(read_all(dir.write_gz("packed.log.gz", text)) == expected);
	// The name does not matter: zlib looks at the bytes.
	CHECK(read_all(dir.write_gz("packed.log", text)) == expected);
	CHECK(read_all(dir.write("plain.gz", text)) == expected);
}

TEST_CASE("replay line input: CRLF, no final newline, NULs, empty files")
{
	TempDir dir;
	CHECK(read_all(dir.write("crlf", "a\r\nb\r\n")) == std::vector<std::string>{"a", "b"});
	CHECK(read_all(dir.write("last", "a\nb")) == std::vector<std::string>{"a", "b"});
	CHECK(read_all(dir.write("lone-cr", "a\rb\n")) == std::vector<std::string>{"a\rb"});
	CHECK(read_all(dir.write("nul", std::string("a\0b\n\0\n", 6))) ==
	      std::vector<std::string>{std::string("a\0b", 3), std::string(1, '\0')});
	CHECK(read_all(dir.write("empty", "")).empty());
	CHECK(read_all(dir.write("newline", "\n")) == std::vector<std::string>{""});
	CHECK(read_all(dir.write_gz("empty.gz", "")).empty());
}

TEST_CASE("replay line input: lines far longer than the read buffer")
{
	TempDir dir;
	std::string long_line(3 * 1024 * 1024 + 17, 'x');
	long_line[12345] = 'y';
	std::string text = "short\n" + long_line + "\nafter\n" + long_line;
	std::vector<std::string> expected{"short", long_line, "after", long_line};
	CHECK(read_all(dir.write("long", text)) == expected);
	CHECK(read_all(dir.write_gz("long.gz", text)) == expected);
	// Many lines across buffer boundaries.
	std::string many;
	for (int i = 0; i < 200000; i++)
		many += "line " + std::to_string(i) + "\n";
	auto lines = read_all(dir.write_gz("many.gz", many));
	REQUIRE(lines.size() == 200000);
	CHECK(lines[199999] == "line 199999");
	CHECK(lines[123456] == "line 123456");
}

TEST_CASE("replay line input: modification time, size and progress")
{
	TempDir dir;
	std::string file = dir.write("dated", "a\nb\n");
	struct timeval times[2] = {{1798675200, 0}, {1798675200, 0}}; // 2026-12-31T00:00:00Z
	REQUIRE(utimes(file.c_str(), times) == 0);
	LineInput in(file);
	CHECK(in.modified() == 1798675200);
	CHECK(in.size() == 4);
	CHECK(in.path() == file);
	std::string_view line;
	while (in.next(line)) {
	}
	CHECK(in.bytes_read() == 4);
}

TEST_CASE("replay line input: errors name the file")
{
	TempDir dir;
	try {
		LineInput in(dir.path + "/missing.log");
		FAIL("opened a missing file");
	} catch (const std::runtime_error &e) {
		CHECK(std::string(e.what()).find("missing.log") != std::string::npos);
	}
	// A .gz cut short: its lines up to the cut, then an error.
	std::string text;
	for (int i = 0; i < 50000; i++)
		text += "line " + std::to_string(i * 7919) + "\n";
	std::string full = dir.write_gz("full.gz", text);
	FILE *f = std::fopen(full.c_str(), "rb");
	REQUIRE(f != nullptr);
	std::string bytes(1 << 20, '\0');
	bytes.resize(std::fread(&bytes[0], 1, bytes.size(), f));
	std::fclose(f);
	std::string cut = dir.write("cut.gz", bytes.substr(0, bytes.size() / 2));
	LineInput in(cut);
	std::string_view line;
	std::size_t count = 0;
	CHECK_THROWS_AS(
		[&] {
			while (in.next(line))
				count++;
		}(),
		std::runtime_error);
	CHECK(count > 0);
	CHECK(count < 50000);
}
