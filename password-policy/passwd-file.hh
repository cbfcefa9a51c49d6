#pragma once
// Storing a new password hash in a Dovecot passwd-file
// (user:password:uid:gid:gecos:home:shell:extra_fields), for passwd-file-update.
//
// Only the password field of the user's line(s) changes; every other byte of the file - other
// lines, other fields, comments, line endings, a missing final newline - stays as it was.
// Concurrent changes are serialised with flock() on FILE.lock (a separate file, because the
// data file itself is replaced), and the new content is written to a temporary file in the
// same directory, fsync()ed, given the old file's mode and owner, and renamed over the old one,
// so a reader (Dovecot re-reads the file when its mtime changes) sees the old or the new file,
// never half of one.

#include "result.hh"

#include <cstddef>
#include <string>
#include <string_view>

namespace account_guard {

// Why a user name or hash cannot go into a passwd-file; empty if it can.
std::string passwd_file_user_problem(std::string_view user);
std::string passwd_file_hash_problem(std::string_view hash);

struct PasswdFileEdit {
	std::string content;
	std::size_t lines_changed = 0;
};

// The content with user's password field replaced by hash on every line of that user.
// Fails if user or hash is unusable or the user has no line.
Result<PasswdFileEdit> replace_passwd_file_password(std::string_view content, std::string_view user,
						    std::string_view hash);

// The whole update of the file at path: lock, read, replace, write, fsync, rename.
Status update_passwd_file(const std::string &path, std::string_view user, std::string_view hash);

} // namespace account_guard
