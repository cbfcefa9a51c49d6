#pragma once
// The parsers of account-guard-replay's inputs, one per format (INTERFACE.md §9): each turns
// the lines of one file into ReplayEvents. Their input is untrusted text: a line of any bytes
// and any length never crashes or throws; a malformed line is counted, never fatal.

#include "replay-event.hh"

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace account_guard::replay {

enum class LineResult {
	event,       // one or more events were produced (maybe later: see finish())
	ignored,     // a line of the log this format does not need (another daemon's, another message)
	unparsable,  // a line this format should have understood but could not
};

class LogParser {
public:
	virtual ~LogParser() = default;
	// `line` without its newline; `number` from 1. Events go to `out` in non-decreasing time
	// order across calls (a parser may hold an event back until it is complete, e.g. a Postfix
	// queue id's recipients); `file` and `line` of each event are set by the parser. Should the
	// log's own clock step back (summer time ending in a local-time syslog), an event is given
	// the time of the latest one before it rather than break that order.
	virtual LineResult parse(std::string_view line, std::uint64_t number, std::vector<ReplayEvent> &out) = 0;
	// End of input: whatever was held back.
	virtual void finish(std::vector<ReplayEvent> &out) = 0;
	// For the report: why the last unparsable line was refused (short, no user data).
	virtual std::string last_error() const = 0;
};

enum class Format { automatic, dovecot, postfix, jsonl };

// "auto", "dovecot", "postfix", "jsonl"; false for anything else.
bool parse_format_name(std::string_view name, Format &out);

// Picks the format of a file from its first non-empty lines: '{' starts JSON lines, a
// "postfix/" tag Postfix, anything else Dovecot.
Format detect_format(const std::vector<std::string> &first_lines);

// `file` is the file's index among the inputs (stored in each event). `modified` (epoch
// seconds) is when a log without years in its timestamps (syslog's "Dec  3 15:07:05") ends,
// usually the file's modification time (LineInput::modified()): its year dates the stamps, and
// its month tells a log begun last December from one of this one (log-time.hh, SyslogYear).
// Format::automatic is for the caller to resolve with detect_format(); given here it means dovecot.
std::unique_ptr<LogParser> make_parser(Format format, std::uint32_t file, std::int64_t modified);

} // namespace account_guard::replay
