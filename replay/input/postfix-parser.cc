// Postfix's log: a SASL-authenticated client is a login (service "smtp", the service Postfix's
// SASL passes to Dovecot's auth), and the message it queued is joined from its queue id's lines:
//   ... postfix/submission/smtpd[1234]: 4AB12C3D4E: client=unknown[192.0.2.10], sasl_method=PLAIN, sasl_username=alice@example.com
//   ... postfix/qmgr[..]: 4AB12C3D4E: from=<alice@example.com>, size=123, nrcpt=2 (queue active)
//   ... postfix/smtp[..]: 4AB12C3D4E: to=<bob@example.net>, relay=..., dsn=2.0.0, status=sent (...)
//   ... postfix/qmgr[..]: 4AB12C3D4E: removed
// The message event has the time and line of its client= line, its user, ip, sender and
// recipients (each once, however often it was deferred). A queue id without sasl_username (mail
// from the internet) gives nothing and costs nothing to remember.
//
// Events are held back until they can be given in time order: a message is complete only at
// its "removed", later than logins logged meanwhile. A queue id still open one hour of log time
// after its client= line is closed with the recipients seen so far: a message deferred for
// days keeps its queue id, but its recipients are logged at its first delivery attempt, within
// seconds; the hour bounds both the memory and how long events wait.
#include "log-time.hh"
#include "parsers.hh"

#include <deque>
#include <queue>
#include <unordered_map>
#include <unordered_set>

namespace account_guard::replay {

namespace {

constexpr std::int64_t open_limit = 3600;

bool starts_with(std::string_view text, std::string_view prefix) { return text.substr(0, prefix.size()) == prefix; }

// A queue id: the short form (hexadecimal, upper case: "4AB12C3D4E") or the long one
// (enable_long_queue_ids: "4Lr0fW3Bq0z9tZ1", letters and digits without vowels). That rules
// out "NOQUEUE" and the words of "warning: ..." lines.
bool is_queue_id(std::string_view id)
{
	if (id.size() < 6 || id.size() > 24)
		return false;
	bool hex = id.size() <= 16;
	for (char c : id) {
		bool digit = c >= '0' && c <= '9';
		bool upper = c >= 'A' && c <= 'Z', lower = c >= 'a' && c <= 'z';
		if (!digit && !upper && !lower)
			return false;
		if (!digit && !(c >= 'A' && c <= 'F'))
			hex = false;
		switch (c) {
		case 'A': case 'E': case 'I': case 'O': case 'U':
		case 'a': case 'e': case 'i': case 'o': case 'u':
			if (!hex)
				return false;
			break;
		default: break;
		}
	}
	return hex || id.size() >= 10;
}

// The end of an address in <...> starting at `from`: before the first of `markers` (what
// Postfix writes after it), else the first '>' followed by ',' or the end of the line. An
// address may hold '>' and ", " in a quoted local part.
std::size_t address_end(std::string_view text, std::size_t from, std::initializer_list<std::string_view> markers)
{
	std::size_t best = std::string_view::npos;
	for (std::string_view marker : markers) {
		std::size_t at = text.find(marker, from);
		if (at < best)
			best = at;
	}
	if (best != std::string_view::npos)
		return best;
	for (std::size_t at = text.find('>', from); at != std::string_view::npos; at = text.find('>', at + 1)) {
		if (at + 1 == text.size() || text[at + 1] == ',')
			return at;
	}
	return std::string_view::npos;
}

// Events in time order; at equal times in the order of their lines, a line's login before its
// message.
struct Held {
	std::int64_t time;
	std::uint64_t line;
	int order; // 0 the login of a client= line, 1 its message
	ReplayEvent event;
};

struct Later {
	bool operator()(const Held &a, const Held &b) const
	{
		if (a.time != b.time)
			return a.time > b.time;
		if (a.line != b.line)
			return a.line > b.line;
		return a.order > b.order;
	}
};

struct OpenMessage {
	std::int64_t time = 0;
	std::uint64_t line = 0;
	std::string user, ip, from;
	std::vector<std::string> to;
	// For a message with many recipients; below that a look through `to` is faster.
	std::unordered_set<std::string> seen;

	void add(std::string_view recipient)
	{
		if (to.size() < 16) {
			for (const std::string &r : to)
				if (r == recipient)
					return;
		} else {
			if (seen.empty())
				seen.insert(to.begin(), to.end());
			if (!seen.emplace(recipient).second)
				return;
		}
		to.emplace_back(recipient);
	}
};

class PostfixParser final : public LogParser {
public:
	PostfixParser(std::uint32_t file, std::int64_t modified) : file_(file), years_(modified) {}

	LineResult parse(std::string_view line, std::uint64_t number, std::vector<ReplayEvent> &out) override
	{
		LineResult result = read(line, number);
		release(out);
		return result;
	}

	void finish(std::vector<ReplayEvent> &out) override
	{
		while (oldest() != nullptr)
			close(order_.front().first);
		release(out);
	}

	std::string last_error() const override { return error_; }

private:
	LineResult read(std::string_view line, std::uint64_t number)
	{
		std::int64_t time = 0;
		std::string_view rest, program, message;
		if (!parse_line_time(line, years_, time, rest)) {
			if (line.find("postfix") != std::string_view::npos &&
			    line.find("sasl_username=") != std::string_view::npos)
				return refuse("bad timestamp");
			return LineResult::ignored;
		}
		expire(time);
		if (!split_program(rest, program, message) || !starts_with(program, "postfix"))
			return LineResult::ignored;
		// "postfix/submission/smtpd", "postfix-out/smtp": the daemon is the last part.
		std::size_t slash = program.rfind('/');
		if (slash == std::string_view::npos)
			return LineResult::ignored;
		std::string_view daemon = program.substr(slash + 1);

		std::size_t colon = message.find(": ");
		if (colon == std::string_view::npos || !is_queue_id(message.substr(0, colon)))
			return LineResult::ignored; // NOQUEUE: reject: ..., connect from, warning: ...
		id_.assign(message.substr(0, colon));
		message.remove_prefix(colon + 2);

		if (daemon == "smtpd" && starts_with(message, "client="))
			return client(message, time, number);
		auto open = open_.find(id_);
		if (open == open_.end())
			return LineResult::ignored;
		OpenMessage &m = open->second;
		if (starts_with(message, "from=<")) {
			std::size_t end = address_end(message, 6, {">, size="});
			if (end == std::string_view::npos)
				return refuse("cut from=");
			m.from.assign(message.substr(6, end - 6));
			return LineResult::event;
		}
		if (starts_with(message, "to=<")) {
			// Delivery agents (smtp, lmtp, local, virtual, pipe, error, ...): each attempt
			// logs the recipient with its status; deferred then sent is one recipient.
			std::size_t end = address_end(message, 4, {">, orig_to=<", ">, relay="});
			if (end == std::string_view::npos || message.find(", status=", end) == std::string_view::npos)
				return refuse("cut to=");
			m.add(message.substr(4, end - 4));
			return LineResult::event;
		}
		if (message == "removed") {
			close(id_);
			return LineResult::event;
		}
		return LineResult::ignored;
	}

	LineResult client(std::string_view message, std::int64_t time, std::uint64_t number)
	{
		std::size_t at = message.find(", sasl_username=");
		if (at == std::string_view::npos)
			return LineResult::ignored; // not authenticated: mail from the internet
		std::size_t start = at + 16;
		// sasl_sender= follows when the client gave AUTH= on MAIL FROM.
		std::size_t end = message.find(", sasl_sender=", start);
		std::string_view user = message.substr(start, end == std::string_view::npos ? end : end - start);
		if (user.empty())
			return refuse("empty sasl_username");
		// client=name[address] or name[address]:port
		std::string_view ip;
		std::size_t open = message.find('[');
		if (open != std::string_view::npos && open < at) {
			std::size_t close = message.find(']', open);
			if (close != std::string_view::npos && close < at)
				ip = message.substr(open + 1, close - open - 1);
		}
		Held login{time, number, 0, ReplayEvent{}};
		login.event.kind = EventKind::login;
		login.event.time = time;
		login.event.user.assign(user);
		login.event.service = "smtp";
		login.event.ip.assign(ip);
		login.event.file = file_;
		login.event.line = number;
		held_.push(std::move(login));

		auto [entry, added] = open_.try_emplace(id_);
		if (!added)
			close(id_), entry = open_.try_emplace(id_).first; // a queue id reused: the old one ends
		OpenMessage &m = entry->second;
		m.time = time;
		m.line = number;
		m.user.assign(user);
		m.ip.assign(ip);
		order_.emplace_back(id_, number);
		return LineResult::event;
	}

	// The oldest open queue id (skipping those closed since they were queued), or nullptr.
	const OpenMessage *oldest()
	{
		while (!order_.empty()) {
			auto open = open_.find(order_.front().first);
			if (open != open_.end() && open->second.line == order_.front().second)
				return &open->second;
			order_.pop_front();
		}
		return nullptr;
	}

	void expire(std::int64_t now)
	{
		for (const OpenMessage *m = oldest(); m != nullptr && m->time < now - open_limit; m = oldest())
			close(order_.front().first);
	}

	// The message of queue id `id` is complete: held until it is its turn. One without any
	// recipient (all refused, or never delivered) was not sent: no event.
	void close(const std::string &id)
	{
		auto open = open_.find(id);
		if (open == open_.end())
			return;
		OpenMessage &m = open->second;
		if (!m.to.empty()) {
			Held message{m.time, m.line, 1, ReplayEvent{}};
			message.event.kind = EventKind::message;
			// Sent through the SASL login of its client= line: the lock check is that of
			// an smtp login, not of a submission session.
			message.event.service = "smtp";
			message.event.time = m.time;
			message.event.user = std::move(m.user);
			message.event.ip = std::move(m.ip);
			message.event.from = std::move(m.from);
			message.event.to = std::move(m.to);
			message.event.file = file_;
			message.event.line = m.line;
			held_.push(std::move(message));
		}
		open_.erase(open);
	}

	// Gives the held events older than every open queue id (whose message, once complete,
	// takes its client= line's place).
	void release(std::vector<ReplayEvent> &out)
	{
		const OpenMessage *first = oldest();
		while (!held_.empty()) {
			const Held &top = held_.top();
			// Its place is (time, line, 1): what sorts before that may go.
			if (first != nullptr && !Later()(Held{first->time, first->line, 1, {}}, top))
				break;
			Held next = std::move(const_cast<Held &>(top));
			held_.pop();
			next.event.time = monotonic_(next.event.time);
			out.push_back(std::move(next.event));
		}
	}

	LineResult refuse(const char *why)
	{
		error_ = why;
		return LineResult::unparsable;
	}

	std::uint32_t file_;
	SyslogYear years_;
	MonotonicTime monotonic_;
	std::unordered_map<std::string, OpenMessage> open_;
	// Queue ids in the order they were opened, with their client= line (to tell a reused id).
	std::deque<std::pair<std::string, std::uint64_t>> order_;
	std::priority_queue<Held, std::vector<Held>, Later> held_;
	std::string id_;
	std::string error_;
};

} // namespace

std::unique_ptr<LogParser> make_postfix_parser(std::uint32_t file, std::int64_t modified)
{
	return std::make_unique<PostfixParser>(file, modified);
}

} // namespace account_guard::replay
