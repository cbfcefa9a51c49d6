#pragma once
// The constructors of the three parsers, one per file, for make_parser() (format.cc): the
// parsers' classes stay private to their files.

#include "log-parser.hh"

namespace account_guard::replay {

std::unique_ptr<LogParser> make_jsonl_parser(std::uint32_t file);
std::unique_ptr<LogParser> make_dovecot_parser(std::uint32_t file, std::int64_t modified);
std::unique_ptr<LogParser> make_postfix_parser(std::uint32_t file, std::int64_t modified);

} // namespace account_guard::replay
