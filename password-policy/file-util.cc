#include "file-util.hh"

#include <libgen.h>
#include <unistd.h>

#include <cerrno>
#include <vector>

namespace account_guard {

Fd::~Fd()
{
	if (fd >= 0)
		close(fd);
}

TempFile::~TempFile()
{
	if (!path.empty() && !committed)
		unlink(path.c_str());
}

bool read_all(int fd, std::string &out)
{
	char buf[65536];
	for (;;) {
		ssize_t n = read(fd, buf, sizeof(buf));
		if (n == 0)
			return true;
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return false;
		}
		out.append(buf, static_cast<std::size_t>(n));
	}
}

bool write_all(int fd, std::string_view data)
{
	while (!data.empty()) {
		ssize_t n = write(fd, data.data(), data.size());
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return false;
		}
		data.remove_prefix(static_cast<std::size_t>(n));
	}
	return true;
}

std::string directory_of(const std::string &path)
{
	std::vector<char> copy(path.begin(), path.end());
	copy.push_back('\0');
	return dirname(copy.data());
}

} // namespace account_guard
