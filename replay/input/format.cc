// The choice of a parser: by name (--format) or by a look at a file's first lines.
#include "log-parser.hh"
#include "parsers.hh"

namespace account_guard::replay {

bool parse_format_name(std::string_view name, Format &out)
{
	if (name == "auto")
		out = Format::automatic;
	else if (name == "dovecot")
		out = Format::dovecot;
	else if (name == "postfix")
		out = Format::postfix;
	else if (name == "jsonl")
		out = Format::jsonl;
	else
		return false;
	return true;
}

Format detect_format(const std::vector<std::string> &first_lines)
{
	bool first = true;
	for (const std::string &text : first_lines) {
		std::string_view line = text;
		if (line.substr(0, 3) == "\xEF\xBB\xBF") // a UTF-8 byte order mark
			line.remove_prefix(3);
		std::size_t start = line.find_first_not_of(" \t\r");
		if (start == std::string_view::npos)
			continue;
		if (first && line[start] == '{')
			return Format::jsonl;
		first = false;
		// A syslog tag "postfix/smtpd[123]:" or a multi-instance "postfix-out/smtp[9]:".
		std::size_t at = line.find(" postfix");
		if (at != std::string_view::npos && at + 8 < line.size() &&
		    (line[at + 8] == '/' || line[at + 8] == '-'))
			return Format::postfix;
	}
	return Format::dovecot;
}

std::unique_ptr<LogParser> make_parser(Format format, std::uint32_t file, std::int64_t modified)
{
	switch (format) {
	case Format::jsonl: return make_jsonl_parser(file);
	case Format::postfix: return make_postfix_parser(file, modified);
	case Format::dovecot:
	case Format::automatic: break;
	}
	return make_dovecot_parser(file, modified);
}

} // namespace account_guard::replay
