#pragma once
// Small POSIX file helpers shared by the breached-file builder, the passwd-file updater and
// the update-command runner: descriptors closed by their owner, a temporary file removed
// unless committed, and reads/writes that finish despite EINTR and short counts.

#include <string>
#include <string_view>

namespace account_guard {

struct Fd {
	int fd = -1;
	Fd() = default;
	explicit Fd(int f) : fd(f) {}
	Fd(const Fd &) = delete;
	Fd &operator=(const Fd &) = delete;
	~Fd();
};

// A temporary output file, unlinked unless committed (renamed into place).
struct TempFile {
	std::string path;
	bool committed = false;
	~TempFile();
};

bool read_all(int fd, std::string &out);
bool write_all(int fd, std::string_view data);
// The directory part of path (dirname), for fsync after a rename.
std::string directory_of(const std::string &path);

} // namespace account_guard
