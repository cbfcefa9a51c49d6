// JSON lines (INTERFACE.md §9): one object per line,
//   {"time": T, "event": "login", "user": U, "service": S, "ip": IP}
//   {"time": T, "event": "message", "user": U, "ip": IP, "from": F, "to": [R, ...]}
//   {"time": T, "event": "password_change" | "complaint", "user": U}
//   {"time": T, "event": "bounce", "user": U, "to": R}
// T is epoch seconds (maybe fractional) or an ISO 8601 string. A strict JSON reader of its
// own, hand-rolled because the tool must read half a million lines a second: one pass over the
// line, no tree, strings copied once into reused buffers, unknown keys (with any nested value)
// skipped. Anything that is not one valid JSON object is unparsable, never a guess.
#include "log-time.hh"
#include "parsers.hh"

#include <charconv>
#include <cmath>

namespace account_guard::replay {

namespace {

// The times a replay can mean: 1970 up to the end of year 9999.
constexpr std::int64_t max_time = 253402300799;
// Deeper unknown values than this are refused (their skip keeps one bit per level).
constexpr int max_depth = 64;

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

int hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

void append_utf8(std::string &out, std::uint32_t code)
{
	if (code < 0x80) {
		out += char(code);
	} else if (code < 0x800) {
		out += char(0xC0 | (code >> 6));
		out += char(0x80 | (code & 0x3F));
	} else if (code < 0x10000) {
		out += char(0xE0 | (code >> 12));
		out += char(0x80 | ((code >> 6) & 0x3F));
		out += char(0x80 | (code & 0x3F));
	} else {
		out += char(0xF0 | (code >> 18));
		out += char(0x80 | ((code >> 12) & 0x3F));
		out += char(0x80 | ((code >> 6) & 0x3F));
		out += char(0x80 | (code & 0x3F));
	}
}

// A cursor over one line.
struct Reader {
	const char *p;
	const char *end;

	void skip_space()
	{
		while (p < end && is_space(*p))
			p++;
	}
	bool at(char c) const { return p < end && *p == c; }
	bool eat(char c)
	{
		skip_space();
		if (!at(c))
			return false;
		p++;
		return true;
	}

	bool hex4(std::uint32_t &code)
	{
		if (end - p < 4)
			return false;
		code = 0;
		for (int i = 0; i < 4; i++) {
			int v = hex_value(p[i]);
			if (v < 0)
				return false;
			code = code * 16 + std::uint32_t(v);
		}
		p += 4;
		return true;
	}

	// A string at p (its opening quote): `out` views its text, in the line when it has no
	// escape, else in `buffer`, decoded. Bytes other than quote, backslash and controls pass
	// as they are: a username is kept as bytes, valid UTF-8 or not.
	bool string(std::string_view &out, std::string &buffer)
	{
		skip_space();
		if (!at('"'))
			return false;
		const char *start = ++p;
		while (p < end && *p != '"' && *p != '\\' && std::uint8_t(*p) >= 0x20)
			p++;
		if (p >= end || std::uint8_t(*p) < 0x20)
			return false;
		if (*p == '"') {
			out = std::string_view(start, std::size_t(p - start));
			p++;
			return true;
		}
		buffer.assign(start, std::size_t(p - start));
		while (p < end) {
			char c = *p++;
			if (c == '"') {
				out = buffer;
				return true;
			}
			if (std::uint8_t(c) < 0x20)
				return false;
			if (c != '\\') {
				buffer += c;
				continue;
			}
			if (p >= end)
				return false;
			switch (*p++) {
			case '"': buffer += '"'; break;
			case '\\': buffer += '\\'; break;
			case '/': buffer += '/'; break;
			case 'b': buffer += '\b'; break;
			case 'f': buffer += '\f'; break;
			case 'n': buffer += '\n'; break;
			case 'r': buffer += '\r'; break;
			case 't': buffer += '\t'; break;
			case 'u': {
				std::uint32_t code;
				if (!hex4(code))
					return false;
				if (code >= 0xDC00 && code <= 0xDFFF)
					return false; // a low surrogate alone
				if (code >= 0xD800 && code <= 0xDBFF) {
					std::uint32_t low;
					if (end - p < 2 || p[0] != '\\' || p[1] != 'u')
						return false;
					p += 2;
					if (!hex4(low) || low < 0xDC00 || low > 0xDFFF)
						return false;
					code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00);
				}
				append_utf8(buffer, code);
				break;
			}
			default: return false;
			}
		}
		return false;
	}

	// A number by JSON's grammar at p: `text` is its span, `integral` whether it has neither
	// fraction nor exponent.
	bool number(std::string_view &text, bool &integral)
	{
		skip_space();
		const char *start = p;
		if (at('-'))
			p++;
		if (at('0')) {
			p++;
		} else if (p < end && *p >= '1' && *p <= '9') {
			while (p < end && *p >= '0' && *p <= '9')
				p++;
		} else {
			return false;
		}
		integral = true;
		if (at('.')) {
			p++;
			if (!(p < end && *p >= '0' && *p <= '9'))
				return false;
			while (p < end && *p >= '0' && *p <= '9')
				p++;
			integral = false;
		}
		if (at('e') || at('E')) {
			p++;
			if (at('+') || at('-'))
				p++;
			if (!(p < end && *p >= '0' && *p <= '9'))
				return false;
			while (p < end && *p >= '0' && *p <= '9')
				p++;
			integral = false;
		}
		text = std::string_view(start, std::size_t(p - start));
		return true;
	}

	bool literal(std::string_view word)
	{
		if (std::size_t(end - p) < word.size() || std::string_view(p, word.size()) != word)
			return false;
		p += word.size();
		return true;
	}

	// Any value, not kept. Iterative: a stack of one bit per level (1: an object).
	bool skip_value(std::string &buffer)
	{
		std::uint64_t objects = 0;
		int depth = 0;
		std::string_view ignored;
		bool integral;
		for (;;) {
			// A value.
			skip_space();
			if (p >= end)
				return false;
			char c = *p;
			if (c == '{' || c == '[') {
				if (depth == max_depth)
					return false;
				p++;
				objects = (objects << 1) | (c == '{');
				depth++;
				skip_space();
				if (at(c == '{' ? '}' : ']')) {
					p++;
					objects >>= 1;
					depth--;
				} else {
					if (c == '{' && (!string(ignored, buffer) || !eat(':')))
						return false;
					continue;
				}
			} else if (c == '"') {
				if (!string(ignored, buffer))
					return false;
			} else if (c == 't') {
				if (!literal("true"))
					return false;
			} else if (c == 'f') {
				if (!literal("false"))
					return false;
			} else if (c == 'n') {
				if (!literal("null"))
					return false;
			} else if (!number(ignored, integral)) {
				return false;
			}
			// After a value: the next one of its container, or the container's end.
			for (;;) {
				if (depth == 0)
					return true;
				bool object = objects & 1;
				skip_space();
				if (at(',')) {
					p++;
					if (object && (!string(ignored, buffer) || !eat(':')))
						return false;
					break;
				}
				if (!at(object ? '}' : ']'))
					return false;
				p++;
				objects >>= 1;
				depth--;
			}
		}
	}
};

bool event_kind_of(std::string_view name, EventKind &kind)
{
	if (name == "login")
		kind = EventKind::login;
	else if (name == "message")
		kind = EventKind::message;
	else if (name == "password_change")
		kind = EventKind::password_change;
	else if (name == "bounce")
		kind = EventKind::bounce;
	else if (name == "complaint")
		kind = EventKind::complaint;
	else
		return false;
	return true;
}

class JsonlParser final : public LogParser {
public:
	explicit JsonlParser(std::uint32_t file) { event_.file = file; }

	LineResult parse(std::string_view line, std::uint64_t number, std::vector<ReplayEvent> &out) override
	{
		if (number == 1 && line.substr(0, 3) == "\xEF\xBB\xBF") // a UTF-8 byte order mark
			line.remove_prefix(3);
		Reader in{line.data(), line.data() + line.size()};
		in.skip_space();
		if (in.p == in.end)
			return LineResult::ignored;
		const char *problem = read(in);
		if (problem != nullptr) {
			error_ = problem;
			return LineResult::unparsable;
		}
		event_.time = monotonic_(event_.time);
		event_.line = number;
		out.push_back(event_);
		return LineResult::event;
	}

	void finish(std::vector<ReplayEvent> &) override {}
	std::string last_error() const override { return error_; }

private:
	// Reads the object into event_: nullptr, or what is wrong with it.
	const char *read(Reader &in)
	{
		bool have_time = false, have_event = false, have_user = false, have_service = false, have_to = false;
		event_.service.clear();
		event_.ip.clear();
		event_.from.clear();
		std::size_t recipients = 0;
		std::string_view key, text;
		bool integral;

		if (!in.eat('{'))
			return "not a JSON object";
		in.skip_space();
		if (in.at('}')) {
			in.p++;
		} else {
			for (;;) {
				if (!in.string(key, key_buffer_))
					return "bad JSON";
				// The key may view key_buffer_; values are read into value_buffer_.
				if (!in.eat(':'))
					return "bad JSON";
				in.skip_space();
				if (key == "time") {
					if (in.at('"')) {
						std::size_t used = 0;
						if (!in.string(text, value_buffer_))
							return "bad JSON";
						if (!parse_iso_time(text, event_.time, used) || used != text.size())
							return "bad time";
					} else {
						if (!in.number(text, integral))
							return "bad time";
						if (!time_of_number(text, integral, event_.time))
							return "bad time";
					}
					if (event_.time < 0 || event_.time > max_time)
						return "bad time";
					have_time = true;
				} else if (key == "event") {
					if (!in.string(text, value_buffer_))
						return "bad event";
					if (!event_kind_of(text, event_.kind))
						return "unknown event";
					have_event = true;
				} else if (key == "user") {
					if (!in.string(text, value_buffer_))
						return "bad user";
					event_.user.assign(text);
					have_user = !text.empty();
				} else if (key == "service" || key == "ip" || key == "from") {
					std::string &field = key == "service" ? event_.service : key == "ip" ? event_.ip : event_.from;
					if (in.literal("null")) {
						field.clear();
					} else {
						if (!in.string(text, value_buffer_))
							return key == "service" ? "bad service" : key == "ip" ? "bad ip" : "bad from";
						field.assign(text);
					}
					if (key == "service")
						have_service = !field.empty();
				} else if (key == "to") {
					recipients = 0;
					if (in.at('[')) {
						in.p++;
						in.skip_space();
						if (in.at(']')) {
							in.p++;
						} else {
							for (;;) {
								if (!in.string(text, value_buffer_))
									return "bad to";
								set_recipient(recipients++, text);
								if (in.eat(']'))
									break;
								if (!in.at(','))
									return "bad JSON";
								in.p++;
							}
						}
					} else {
						if (!in.string(text, value_buffer_))
							return "bad to";
						set_recipient(recipients++, text);
					}
					have_to = true;
				} else if (!in.skip_value(value_buffer_)) {
					return "bad JSON";
				}
				if (in.eat('}'))
					break;
				if (!in.at(','))
					return "bad JSON";
				in.p++;
			}
		}
		in.skip_space();
		if (in.p != in.end)
			return "bad JSON";
		if (!have_time)
			return "no time";
		if (!have_event)
			return "no event";
		if (!have_user)
			return "no user";
		if (event_.kind == EventKind::login && !have_service)
			return "login without service";
		if (event_.kind == EventKind::message && !have_to)
			return "message without to";
		if (event_.kind == EventKind::bounce && (!have_to || recipients == 0))
			return "bounce without to";
		if (event_.kind == EventKind::bounce)
			recipients = 1;
		event_.to.resize(recipients);
		if (event_.kind != EventKind::message && event_.kind != EventKind::bounce)
			event_.to.clear();
		if (event_.kind != EventKind::login)
			event_.service.clear();
		return nullptr;
	}

	// Recipient `index` set to `text`, reusing the strings of an earlier line.
	void set_recipient(std::size_t index, std::string_view text)
	{
		if (index < event_.to.size())
			event_.to[index].assign(text);
		else
			event_.to.emplace_back(text);
	}

	static bool time_of_number(std::string_view text, bool integral, std::int64_t &time)
	{
		if (integral) {
			// Up to 12 digits is well past the year 9999; more would overflow the sum.
			if (text.size() > 13)
				return false;
			std::int64_t value = 0;
			bool negative = text[0] == '-';
			for (char c : text.substr(negative))
				value = value * 10 + (c - '0');
			time = negative ? -value : value;
			return true;
		}
		double value = 0;
		auto [rest, error] = std::from_chars(text.data(), text.data() + text.size(), value);
		if (error != std::errc() || rest != text.data() + text.size() || !(value >= 0 && value <= double(max_time)))
			return false;
		time = std::int64_t(std::floor(value));
		return true;
	}

	ReplayEvent event_;
	std::string key_buffer_, value_buffer_;
	std::string error_;
	MonotonicTime monotonic_;
};

} // namespace

std::unique_ptr<LogParser> make_jsonl_parser(std::uint32_t file) { return std::make_unique<JsonlParser>(file); }

} // namespace account_guard::replay
