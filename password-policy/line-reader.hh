#pragma once
// Reads lines that hold passwords from a file descriptor into wiped memory, without stdio
// buffers (which would keep copies nobody wipes). A line ends at LF; a CR before the LF is
// part of the line ending. A line longer than the limit is reported as overlong and skipped
// to its end, never cut and used.

#include "secret.hh"

#include <cstddef>

namespace account_guard {

class LineReader {
public:
	LineReader(int fd, std::size_t max_line) : fd_(fd), max_line_(max_line) {}

	enum class Status { line, overlong, eof, error };
	// On Status::line, line_r holds the line without its ending. Status::error leaves errno.
	Status next(SecretString &line_r);

private:
	bool fill();

	int fd_;
	std::size_t max_line_;
	SecretString buf_;
	std::size_t start_ = 0;
	bool eof_ = false;
};

} // namespace account_guard
