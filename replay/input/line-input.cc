#include "line-input.hh"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <fcntl.h>
#include <stdexcept>
#include <sys/stat.h>
#include <unistd.h>
#include <vector>
#include <zlib.h>

namespace account_guard::replay {

namespace {

// What one gzread asks for. Lines longer than the buffer grow it.
constexpr std::size_t read_size = 256 * 1024;

} // namespace

struct LineInput::Impl {
	gzFile gz = nullptr;
	// buffer[begin, end) holds read bytes not yet returned as lines.
	std::vector<char> buffer;
	std::size_t begin = 0, end = 0;
	// Where the scan for the next '\n' resumes: a long line is not rescanned from its start
	// after each read.
	std::size_t scanned = 0;
	bool eof = false;

	~Impl()
	{
		if (gz != nullptr)
			gzclose(gz);
	}

	// Reads more after `end`, first moving the pending bytes to the front (or growing the buffer
	// when they fill it). False at the end of the input.
	bool fill(const std::string &path)
	{
		if (eof)
			return false;
		if (begin > 0) {
			std::memmove(buffer.data(), buffer.data() + begin, end - begin);
			end -= begin;
			scanned -= begin;
			begin = 0;
		}
		if (buffer.size() - end < read_size)
			buffer.resize(end + read_size);
		int got = gzread(gz, buffer.data() + end, unsigned(std::min<std::size_t>(buffer.size() - end, 1u << 30)));
		if (got < 0) {
			int code = 0;
			const char *message = gzerror(gz, &code);
			throw std::runtime_error(path + ": " + (code == Z_ERRNO ? std::strerror(errno) : message));
		}
		if (got == 0) {
			// A .gz cut short reads as a clean end to gzread; gzerror tells.
			int code = 0;
			const char *message = gzerror(gz, &code);
			if (code != Z_OK && code != Z_STREAM_END)
				throw std::runtime_error(path + ": " + message);
			eof = true;
			return false;
		}
		end += std::size_t(got);
		return true;
	}
};

LineInput::LineInput(const std::string &path) : impl_(std::make_unique<Impl>()), path_(path)
{
	int fd = path == "-" ? dup(STDIN_FILENO) : open(path.c_str(), O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		throw std::runtime_error(path + ": " + std::strerror(errno));
	struct stat st {};
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode)) {
		modified_ = st.st_mtime;
		size_ = std::uint64_t(st.st_size);
	} else {
		modified_ = std::time(nullptr);
	}
	// gzdopen reads plain files as they are ("transparent"), so one path for both.
	impl_->gz = gzdopen(fd, "rb");
	if (impl_->gz == nullptr) {
		close(fd);
		throw std::runtime_error(path + ": cannot read (out of memory)");
	}
	gzbuffer(impl_->gz, 128 * 1024);
}

LineInput::~LineInput() = default;

bool LineInput::next(std::string_view &line)
{
	Impl &in = *impl_;
	for (;;) {
		const char *base = in.buffer.data();
		const void *newline = in.scanned < in.end ? std::memchr(base + in.scanned, '\n', in.end - in.scanned) : nullptr;
		std::size_t stop;
		if (newline != nullptr) {
			stop = std::size_t(static_cast<const char *>(newline) - base);
		} else {
			in.scanned = in.end;
			if (in.fill(path_))
				continue;
			if (in.begin == in.end)
				return false;
			stop = in.end; // the last line, without a final newline
		}
		std::size_t start = in.begin, length = stop - start;
		if (length > 0 && in.buffer[start + length - 1] == '\r')
			length--;
		line = std::string_view(in.buffer.data() + start, length);
		in.begin = in.scanned = stop < in.end ? stop + 1 : stop;
		number_++;
		return true;
	}
}

std::uint64_t LineInput::bytes_read() const
{
	// gzoffset: the position in the file itself (compressed bytes for a .gz), as size_ is.
	z_off_t offset = gzoffset(impl_->gz);
	return offset < 0 ? 0 : std::uint64_t(offset);
}

} // namespace account_guard::replay
