// Dovecot's log: the "Login:" lines of its login processes, one login event each,
//   Dec  3 15:07:05 mail1 dovecot: imap-login: Login: user=<alice@example.com>, method=PLAIN,
//       rip=192.0.2.10, lip=192.0.2.1, mpid=1234, TLS, session=<abc>          (syslog)
//   2026-12-03T15:07:05.123456+00:00 mail1 dovecot[99]: imap-login: Login: ...  (rsyslog, RFC 3339)
//   Dec 03 15:07:05 imap-login: Info: Login: user=<alice>, method=PLAIN, rip=::1, ...  (log_path)
// Every other line, Dovecot's or another program's, is ignored; a Login line without a user
// or a timestamp is unparsable.
#include "log-time.hh"
#include "parsers.hh"

namespace account_guard::replay {

namespace {

// The login processes and the service each passes to the passdb (what the guard compares):
// managesieve-login's protocol is "sieve" (Pigeonhole's "protocol sieve { }").
const char *service_of_process(std::string_view process)
{
	if (process == "imap-login")
		return "imap";
	if (process == "pop3-login")
		return "pop3";
	if (process == "submission-login")
		return "submission";
	if (process == "managesieve-login")
		return "sieve";
	return nullptr;
}

bool starts_with(std::string_view text, std::string_view prefix) { return text.substr(0, prefix.size()) == prefix; }

// The end of the user=<...> value that starts at `from`. The value is the user's bytes as
// they logged in, '>' and ", " included, so the end is found from what Dovecot writes after it:
// the last ">, method=" of the line (what follows the user in the default
// login_log_format_elements comes from Dovecot, never from the client); failing that (another
// format, a line cut short), the first '>' followed by ',' or the end of the line.
std::size_t user_end(std::string_view message, std::size_t from)
{
	std::size_t at = message.rfind(">, method=");
	if (at != std::string_view::npos && at >= from)
		return at;
	for (at = message.find('>', from); at != std::string_view::npos; at = message.find('>', at + 1)) {
		if (at + 1 == message.size() || message[at + 1] == ',')
			return at;
	}
	return std::string_view::npos;
}

class DovecotParser final : public LogParser {
public:
	DovecotParser(std::uint32_t file, std::int64_t modified) : years_(modified) { event_.file = file; }

	LineResult parse(std::string_view line, std::uint64_t number, std::vector<ReplayEvent> &out) override
	{
		std::int64_t time = 0;
		std::string_view rest, program, message;
		if (!parse_line_time(line, years_, time, rest)) {
			// Only a line that would have been an event is worth reporting.
			if (line.find(": Login: user=<") != std::string_view::npos)
				return refuse("bad timestamp");
			return LineResult::ignored;
		}
		if (!split_program(rest, program, message))
			return LineResult::ignored;
		if (program == "dovecot") {
			// syslog: "dovecot: imap-login: ..."; the process is the message's first word.
			std::size_t space = message.find(' ');
			std::string_view token = message.substr(0, space);
			if (token.size() < 2 || token.back() != ':' || space == std::string_view::npos)
				return LineResult::ignored;
			program = token.substr(0, token.size() - 1);
			message = message.substr(space + 1);
		}
		const char *service = service_of_process(program);
		if (service == nullptr)
			return LineResult::ignored;
		if (starts_with(message, "Info: "))
			message.remove_prefix(6);
		if (!starts_with(message, "Login: "))
			return LineResult::ignored;
		message.remove_prefix(7);

		std::size_t user = message.find("user=<");
		if (user == std::string_view::npos)
			return refuse("Login without user");
		user += 6;
		std::size_t end = user_end(message, user);
		if (end == std::string_view::npos)
			return refuse("Login with a cut user");
		if (end == user)
			return refuse("Login with an empty user");

		event_.ip.clear();
		std::size_t rip = message.find(", rip=", end);
		if (rip != std::string_view::npos) {
			rip += 6;
			std::size_t stop = message.find_first_of(", ", rip);
			event_.ip.assign(message.substr(rip, stop == std::string_view::npos ? std::string_view::npos : stop - rip));
		}
		event_.user.assign(message.substr(user, end - user));
		event_.service.assign(service);
		event_.time = monotonic_(time);
		event_.line = number;
		out.push_back(event_);
		return LineResult::event;
	}

	void finish(std::vector<ReplayEvent> &) override {}
	std::string last_error() const override { return error_; }

private:
	LineResult refuse(const char *why)
	{
		error_ = why;
		return LineResult::unparsable;
	}

	SyslogYear years_;
	MonotonicTime monotonic_;
	ReplayEvent event_;
	std::string error_;
};

} // namespace

std::unique_ptr<LogParser> make_dovecot_parser(std::uint32_t file, std::int64_t modified)
{
	return std::make_unique<DovecotParser>(file, modified);
}

} // namespace account_guard::replay
