#pragma once
// The lines of one input of account-guard-replay: a file, gzip-compressed or not (zlib reads
// both), or standard input ("-"). Lines of any length; a NUL or a missing final newline is
// just a byte or the last line.

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace account_guard::replay {

class LineInput {
public:
	// Throws std::runtime_error naming the path when it cannot be opened.
	explicit LineInput(const std::string &path);
	~LineInput();
	LineInput(const LineInput &) = delete;
	LineInput &operator=(const LineInput &) = delete;

	// The next line without its "\n" (nor a "\r" before it); false at the end. The view is valid
	// until the next call. Throws std::runtime_error on a read error (a corrupt .gz).
	bool next(std::string_view &line);
	std::uint64_t line_number() const { return number_; }
	const std::string &path() const { return path_; }
	// The file's modification time, epoch seconds (now for stdin or a pipe): `modified` of
	// make_parser(), which dates timestamps without a year.
	std::int64_t modified() const { return modified_; }
	// Bytes of the file read so far and its size (0 when unknown): for the progress line.
	std::uint64_t bytes_read() const;
	std::uint64_t size() const { return size_; }

private:
	struct Impl;
	std::unique_ptr<Impl> impl_;
	std::string path_;
	std::uint64_t number_ = 0;
	std::int64_t modified_ = 0;
	std::uint64_t size_ = 0;
};

} // namespace account_guard::replay
