#pragma once
// The start of the lines of the logs account-guard-replay reads, parsed in one place for every
// parser: their timestamps,
// syslog's "Dec  3 15:07:05" (no year), RFC 3339 / ISO 8601 ("2026-12-03T15:07:05.123+01:00",
// also with a space for the T, as Dovecot's log_timestamp "%Y-%m-%d %H:%M:%S" writes it) and
// the JSON lines' times; and the syslog host and program after the timestamp.
//
// A time without a zone is taken as UTC: the machine's TZ is never consulted, so a replay
// gives the same result everywhere (a syslog written in local time is thus shifted by the
// zone's offset, uniformly).

#include <cstdint>
#include <string_view>

namespace account_guard::replay {

// Days since 1970-01-01 of a proleptic Gregorian date (any year, month 1..12, day 1..31).
std::int64_t days_from_civil(std::int64_t year, unsigned month, unsigned day);

// An ISO 8601 date and time at the start of `text`: YYYY-MM-DD, 'T', 't' or ' ', HH:MM[:SS[.frac]],
// then optionally 'Z' or an offset (+HH:MM, +HHMM, +HH). Fractions are dropped (the time is
// whole seconds, rounded down). On success sets `time` (epoch seconds, UTC) and `used` (the
// bytes read); false when the start of `text` is no valid time.
bool parse_iso_time(std::string_view text, std::int64_t &time, std::size_t &used);

// The year of syslog stamps, which have none. The log is read forwards and ends at (or just
// before) its file's modification time `modified`, so: the first stamp is given the year of
// `modified`, or the year before when that would put it more than a day after `modified`
// (a log begun last December, read in January); every time the month then goes backwards
// (December to January) the year goes up by one. A log spanning more than a year of stamps
// without a year cannot be dated right by anyone; this gets the usual rotated logs right,
// including one that crosses New Year.
class SyslogYear {
public:
	explicit SyslogYear(std::int64_t modified);
	// Epoch seconds of a stamp of `month` (1..12), day, hh:mm:ss.
	std::int64_t resolve(unsigned month, unsigned day, unsigned hour, unsigned minute, unsigned second);

private:
	std::int64_t modified_;
	std::int64_t year_ = 1970;
	unsigned last_month_ = 0; // 0: no stamp seen yet
};

// The timestamp that starts a log line, in any of the forms above followed by one space
// (syslog's "Mmm dd HH:MM:SS ", the day space- or zero-padded, or ISO with 'T' or ' '). Sets
// `time` and `rest` (the line after the stamp and its spaces); false when the line starts
// with no timestamp.
bool parse_line_time(std::string_view line, SyslogYear &years, std::int64_t &time, std::string_view &rest);

// What follows the timestamp of a syslog line, "HOST PROGRAM[PID]: MESSAGE", or of a line a
// program wrote itself (Dovecot's log_path: "PROGRAM: MESSAGE", no host): `program` without
// its "[PID]" and colon, and `message`. False when there is no "PROGRAM:" where one belongs.
bool split_program(std::string_view rest, std::string_view &program, std::string_view &message);

// Keeps a parser's events in non-decreasing time, as LogParser promises: a log's clock may
// step back (a local-time syslog at the end of summer time, two writers racing); an event
// stamped before one already given takes the time of the latest one instead.
class MonotonicTime {
public:
	std::int64_t operator()(std::int64_t time)
	{
		if (time < latest_)
			return latest_;
		latest_ = time;
		return time;
	}

private:
	std::int64_t latest_ = INT64_MIN;
};

} // namespace account_guard::replay
