#include "log-time.hh"

namespace account_guard::replay {

namespace {

bool is_digit(char c) { return c >= '0' && c <= '9'; }

// `count` digits at text[at...]: their value, or -1.
int digits(std::string_view text, std::size_t at, std::size_t count)
{
	if (text.size() < at + count)
		return -1;
	int value = 0;
	for (std::size_t i = at; i < at + count; i++) {
		if (!is_digit(text[i]))
			return -1;
		value = value * 10 + (text[i] - '0');
	}
	return value;
}

bool leap(std::int64_t year) { return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0; }

unsigned days_in_month(std::int64_t year, unsigned month)
{
	static const unsigned char days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	return month == 2 && leap(year) ? 29 : days[month - 1];
}

std::int64_t year_of(std::int64_t epoch)
{
	// civil_from_days (H. Hinnant), the year part only.
	std::int64_t z = (epoch >= 0 ? epoch : epoch - 86399) / 86400 + 719468;
	std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
	std::int64_t doe = z - era * 146097;
	std::int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	std::int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	std::int64_t mp = (5 * doy + 2) / 153;
	std::int64_t month = mp < 10 ? mp + 3 : mp - 9;
	return yoe + era * 400 + (month <= 2);
}

// "Jan".."Dec" (as syslog and strftime's %b write them in the C locale): 1..12, or 0.
unsigned month_of_name(std::string_view text)
{
	if (text.size() < 3)
		return 0;
	// A switch on the three letters packed: this runs once per line.
	std::uint32_t key = (std::uint32_t(std::uint8_t(text[0])) << 16) |
			    (std::uint32_t(std::uint8_t(text[1])) << 8) | std::uint8_t(text[2]);
	switch (key) {
	case 0x4a616e: return 1;  // Jan
	case 0x466562: return 2;  // Feb
	case 0x4d6172: return 3;  // Mar
	case 0x417072: return 4;  // Apr
	case 0x4d6179: return 5;  // May
	case 0x4a756e: return 6;  // Jun
	case 0x4a756c: return 7;  // Jul
	case 0x417567: return 8;  // Aug
	case 0x536570: return 9;  // Sep
	case 0x4f6374: return 10; // Oct
	case 0x4e6f76: return 11; // Nov
	case 0x446563: return 12; // Dec
	default: return 0;
	}
}

// "HH:MM:SS" at text[at]: false unless a valid time of day (a leap second 60 is let through).
bool clock_time(std::string_view text, std::size_t at, unsigned &hour, unsigned &minute, unsigned &second)
{
	int h = digits(text, at, 2), m = digits(text, at + 3, 2), s = digits(text, at + 6, 2);
	if (h < 0 || m < 0 || s < 0 || text[at + 2] != ':' || text[at + 5] != ':' || h > 23 || m > 59 || s > 60)
		return false;
	hour = unsigned(h);
	minute = unsigned(m);
	second = unsigned(s);
	return true;
}

std::string_view skip_spaces(std::string_view text)
{
	std::size_t i = 0;
	while (i < text.size() && text[i] == ' ')
		i++;
	return text.substr(i);
}

} // namespace

std::int64_t days_from_civil(std::int64_t year, unsigned month, unsigned day)
{
	year -= month <= 2;
	std::int64_t era = (year >= 0 ? year : year - 399) / 400;
	std::int64_t yoe = year - era * 400;
	std::int64_t doy = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1;
	std::int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

bool parse_iso_time(std::string_view text, std::int64_t &time, std::size_t &used)
{
	int year = digits(text, 0, 4), month = digits(text, 5, 2), day = digits(text, 8, 2);
	if (year < 0 || month < 1 || month > 12 || day < 1 || text[4] != '-' || text[7] != '-')
		return false;
	if (unsigned(day) > days_in_month(year, unsigned(month)))
		return false;
	if (text.size() < 16 || (text[10] != 'T' && text[10] != 't' && text[10] != ' '))
		return false;
	int hour = digits(text, 11, 2), minute = digits(text, 14, 2), second = 0;
	if (hour < 0 || hour > 23 || text[13] != ':' || minute < 0 || minute > 59)
		return false;
	std::size_t at = 16;
	if (at < text.size() && text[at] == ':') {
		second = digits(text, at + 1, 2);
		if (second < 0 || second > 60)
			return false;
		at += 3;
		if (at < text.size() && (text[at] == '.' || text[at] == ',')) {
			std::size_t start = ++at;
			while (at < text.size() && is_digit(text[at]))
				at++;
			if (at == start)
				return false;
		}
	}
	std::int64_t offset = 0;
	if (at < text.size() && (text[at] == 'Z' || text[at] == 'z')) {
		at++;
	} else if (at < text.size() && (text[at] == '+' || text[at] == '-')) {
		int sign = text[at] == '-' ? -1 : 1;
		int oh = digits(text, at + 1, 2);
		if (oh < 0 || oh > 23)
			return false;
		at += 3;
		int om = 0;
		if (at < text.size() && text[at] == ':') {
			om = digits(text, at + 1, 2);
			if (om < 0)
				return false;
			at += 3;
		} else if (digits(text, at, 2) >= 0) {
			om = digits(text, at, 2);
			at += 2;
		}
		if (om > 59)
			return false;
		offset = sign * (oh * 3600 + om * 60);
	}
	time = days_from_civil(year, unsigned(month), unsigned(day)) * 86400 + hour * 3600 + minute * 60 + second -
	       offset;
	used = at;
	return true;
}

SyslogYear::SyslogYear(std::int64_t modified) : modified_(modified), year_(year_of(modified)) {}

std::int64_t SyslogYear::resolve(unsigned month, unsigned day, unsigned hour, unsigned minute, unsigned second)
{
	auto at = [&](std::int64_t year) {
		return days_from_civil(year, month, day) * 86400 + hour * 3600 + minute * 60 + second;
	};
	if (last_month_ == 0) {
		if (at(year_) > modified_ + 86400)
			year_--;
	} else if (month + 6 <= last_month_) {
		// A jump back of half a year or more is New Year; a smaller one (a line of Jan 31
		// after one of Feb 1) is the log's clock or two writers out of step, not a year.
		year_++;
	}
	last_month_ = month;
	return at(year_);
}

bool parse_line_time(std::string_view line, SyslogYear &years, std::int64_t &time, std::string_view &rest)
{
	if (line.empty())
		return false;
	if (is_digit(line[0])) {
		std::size_t used = 0;
		if (!parse_iso_time(line, time, used) || used >= line.size() || line[used] != ' ')
			return false;
		rest = skip_spaces(line.substr(used));
		return true;
	}
	// "Dec  3 15:07:05 ", "Dec 03 15:07:05 ", "Dec 3 15:07:05 "
	unsigned month = month_of_name(line);
	if (month == 0 || line.size() < 16 || line[3] != ' ')
		return false;
	std::size_t at = 4;
	if (line[at] == ' ')
		at++;
	int day = -1;
	if (digits(line, at, 2) >= 0) {
		day = digits(line, at, 2);
		at += 2;
	} else if (digits(line, at, 1) >= 0) {
		day = digits(line, at, 1);
		at += 1;
	}
	// The day is checked against 31 only: the year, and so February's length, is a guess.
	if (day < 1 || day > 31 || at >= line.size() || line[at] != ' ')
		return false;
	unsigned hour, minute, second;
	if (!clock_time(line, at + 1, hour, minute, second))
		return false;
	at += 9;
	if (at >= line.size() || line[at] != ' ')
		return false;
	time = years.resolve(month, unsigned(day), hour, minute, second);
	rest = skip_spaces(line.substr(at));
	return true;
}

bool split_program(std::string_view rest, std::string_view &program, std::string_view &message)
{
	std::size_t space = rest.find(' ');
	std::string_view token = rest.substr(0, space);
	if (token.empty())
		return false;
	if (token.back() != ':') {
		// A host first.
		if (space == std::string_view::npos)
			return false;
		rest = skip_spaces(rest.substr(space));
		space = rest.find(' ');
		token = rest.substr(0, space);
		if (token.empty() || token.back() != ':')
			return false;
	}
	token.remove_suffix(1);
	if (!token.empty() && token.back() == ']') {
		std::size_t open = token.rfind('[');
		if (open == std::string_view::npos)
			return false;
		token = token.substr(0, open);
	}
	if (token.empty())
		return false;
	program = token;
	message = space == std::string_view::npos ? std::string_view() : skip_spaces(rest.substr(space));
	return true;
}

} // namespace account_guard::replay
