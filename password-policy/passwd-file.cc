#include "passwd-file.hh"

#include "file-util.hh"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <libgen.h>
#include <vector>

namespace account_guard {

namespace {

std::string sys_error(const std::string &what, const std::string &path)
{
	return what + " " + path + ": " + std::strerror(errno);
}

} // namespace

std::string passwd_file_user_problem(std::string_view user)
{
	if (user.empty())
		return "empty user name";
	for (char c : user) {
		unsigned char u = static_cast<unsigned char>(c);
		if (c == ':')
			return "user name contains ':'";
		if (u < 0x20 || u == 0x7f)
			return "user name contains a control character (such as a newline)";
	}
	if (user[0] == '#')
		return "user name starts with '#' (a comment in a passwd-file)";
	return std::string();
}

std::string passwd_file_hash_problem(std::string_view hash)
{
	if (hash.empty())
		return "empty hash";
	for (char c : hash) {
		unsigned char u = static_cast<unsigned char>(c);
		if (c == ':')
			return "hash contains ':'";
		if (u <= 0x20 || u == 0x7f)
			return "hash contains a space or a control character";
	}
	return std::string();
}

Result<PasswdFileEdit> replace_passwd_file_password(std::string_view content, std::string_view user,
						    std::string_view hash)
{
	if (std::string problem = passwd_file_user_problem(user); !problem.empty())
		return failure(problem);
	if (std::string problem = passwd_file_hash_problem(hash); !problem.empty())
		return failure(problem);
	PasswdFileEdit edit;
	edit.content.reserve(content.size() + hash.size());
	std::size_t pos = 0;
	while (pos < content.size()) {
		std::size_t nl = content.find('\n', pos);
		std::size_t end = nl == std::string_view::npos ? content.size() : nl;
		std::string_view line = content.substr(pos, end - pos);
		std::size_t colon = line.find(':');
		if (colon != std::string_view::npos && line.substr(0, colon) == user) {
			// The password field runs to the next ':' or to the end of the line (a CR of
			// a CRLF line ending stays).
			std::size_t field_end = line.find(':', colon + 1);
			if (field_end == std::string_view::npos) {
				field_end = line.size();
				if (field_end > colon + 1 && line[field_end - 1] == '\r')
					field_end--;
			}
			edit.content.append(line.substr(0, colon + 1));
			edit.content.append(hash);
			edit.content.append(line.substr(field_end));
			edit.lines_changed++;
		} else {
			edit.content.append(line);
		}
		if (nl != std::string_view::npos)
			edit.content.push_back('\n');
		pos = end + 1;
	}
	if (edit.lines_changed == 0)
		return failure("user not found");
	return edit;
}

Status update_passwd_file(const std::string &given_path, std::string_view user, std::string_view hash)
{
	// Fail before taking any lock for input that can never be stored.
	if (std::string problem = passwd_file_user_problem(user); !problem.empty())
		return failure(problem);
	if (std::string problem = passwd_file_hash_problem(hash); !problem.empty())
		return failure(problem);

	// A symlinked passwd-file is updated where it really is (rename() would replace the link).
	char *resolved = realpath(given_path.c_str(), nullptr);
	if (resolved == nullptr)
		return failure(sys_error("cannot find", given_path));
	const std::string path(resolved);
	free(resolved);

	const std::string lock_path = path + ".lock";
	Fd lock(open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
	if (lock.fd < 0)
		return failure(sys_error("cannot open lock file", lock_path));
	while (flock(lock.fd, LOCK_EX) < 0) {
		if (errno != EINTR)
			return failure(sys_error("cannot lock", lock_path));
	}

	// Read under the lock: the file we replace is the one the previous writer left.
	Fd in(open(path.c_str(), O_RDONLY | O_CLOEXEC));
	if (in.fd < 0)
		return failure(sys_error("cannot open", path));
	struct stat st;
	if (fstat(in.fd, &st) < 0)
		return failure(sys_error("fstat failed on", path));
	if (!S_ISREG(st.st_mode))
		return failure(path + " is not a regular file");
	std::string content;
	if (!read_all(in.fd, content))
		return failure(sys_error("cannot read", path));

	auto edit = replace_passwd_file_password(content, user, hash);
	if (!edit)
		return failure(edit.error() + " in " + path);

	TempFile tmp;
	std::string templ = path + ".tmp.XXXXXX";
	std::vector<char> name(templ.begin(), templ.end());
	name.push_back('\0');
	Fd out(mkostemp(name.data(), O_CLOEXEC));
	if (out.fd < 0)
		return failure(sys_error("cannot create a temporary file for", path));
	tmp.path = name.data();
	// The old file's owner and mode: Dovecot's auth process must still be able to read it,
	// and nobody else more than before. (fchown works for root and is a no-op otherwise.)
	if (fchmod(out.fd, st.st_mode & 07777) < 0)
		return failure(sys_error("fchmod failed on", tmp.path));
	if ((st.st_uid != geteuid() || st.st_gid != getegid()) && fchown(out.fd, st.st_uid, st.st_gid) < 0)
		return failure(sys_error("cannot give the new file the old one's owner:", tmp.path));
	if (!write_all(out.fd, edit->content))
		return failure(sys_error("cannot write", tmp.path));
	if (fsync(out.fd) < 0)
		return failure(sys_error("fsync failed on", tmp.path));
	if (rename(tmp.path.c_str(), path.c_str()) < 0)
		return failure(sys_error("cannot rename the new file to", path));
	tmp.committed = true;
	Fd dir(open(directory_of(path).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
	if (dir.fd >= 0 && fsync(dir.fd) < 0)
		return failure(sys_error("fsync failed on the directory of", path));
	return success();
}

} // namespace account_guard
