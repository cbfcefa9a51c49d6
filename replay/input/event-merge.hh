#pragma once
// The inputs of one replay as a single stream of events in time order: each file is read
// through its own parser (each file in time order, INTERFACE §9), and the files are merged by
// time, ties in the order the files were given. A syslog file whose format is detected is
// read through both the Dovecot and the Postfix parser (one mail.log holds both). Only a few
// events a file are held at once, so a month of logs is streamed, never loaded.

#include "line-input.hh"
#include "log-parser.hh"
#include "replay-event.hh"

#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace account_guard::replay {

// A line no parser understood: shown to the postmaster (the first few), never fatal.
struct BadLine {
	std::uint32_t file = 0;
	std::uint64_t line = 0;
	std::string why;
	std::string text; // printable, cut short
};

struct InputCounts {
	std::uint64_t lines = 0;
	std::uint64_t ignored = 0; // by the file's (first) parser: other programs' lines
	std::uint64_t unparsable = 0;
	std::vector<BadLine> first_unparsable; // at most `shown_unparsable`
};

class EventMerge {
public:
	static constexpr std::size_t shown_unparsable = 5;

	// Opens every path ("-" is stdin); throws std::runtime_error naming one that cannot be
	// opened. `format` applies to all of them (automatic: each file's own, detect_format()).
	EventMerge(const std::vector<std::string> &paths, Format format);
	~EventMerge();

	// The next event in time order; false once every input is exhausted. Throws
	// std::runtime_error on a read error (a corrupt .gz), naming the file.
	bool next(ReplayEvent &event);

	const InputCounts &counts() const { return counts_; }
	// Progress: bytes read of all inputs and their total size (0 when unknown, e.g. stdin).
	std::uint64_t bytes_read() const;
	std::uint64_t total_size() const;

private:
	struct Source;
	bool fill(Source &source); // reads until it holds an event or reaches the end
	std::vector<std::unique_ptr<Source>> sources_;
	InputCounts counts_;
};

} // namespace account_guard::replay
