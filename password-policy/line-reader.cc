#include "line-reader.hh"

#include <unistd.h>

#include <cerrno>

namespace account_guard {

bool LineReader::fill()
{
	if (start_ > 0) {
		// Drop consumed bytes, wiping the tail they leave behind.
		SecretString rest(buf_.view().substr(start_));
		buf_ = std::move(rest);
		start_ = 0;
	}
	char chunk[4096];
	for (;;) {
		ssize_t n = read(fd_, chunk, sizeof(chunk));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			wipe(chunk, sizeof(chunk));
			return false;
		}
		if (n == 0)
			eof_ = true;
		else
			buf_.append(std::string_view(chunk, static_cast<std::size_t>(n)));
		wipe(chunk, static_cast<std::size_t>(n > 0 ? n : 0));
		return true;
	}
}

LineReader::Status LineReader::next(SecretString &line_r)
{
	bool overlong = false;
	for (;;) {
		std::string_view pending = buf_.view().substr(start_);
		std::size_t nl = pending.find('\n');
		if (nl != std::string_view::npos || (eof_ && !pending.empty())) {
			std::size_t len = nl == std::string_view::npos ? pending.size() : nl;
			std::string_view line = pending.substr(0, len);
			start_ += nl == std::string_view::npos ? len : len + 1;
			if (overlong)
				return Status::overlong;
			if (!line.empty() && line.back() == '\r')
				line.remove_suffix(1);
			line_r = SecretString(line);
			return Status::line;
		}
		if (eof_)
			return overlong ? Status::overlong : Status::eof;
		if (pending.size() > max_line_) {
			// Too long to be a password line: discard what we have and skip to its end.
			overlong = true;
			start_ = buf_.size();
		}
		if (!fill())
			return Status::error;
	}
}

} // namespace account_guard
