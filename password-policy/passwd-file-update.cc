// passwd-file-update: the ready-made account_guard_password_update_command for passwd-file
// password stores.
//
//   passwd-file-update FILE USER      (the hash on stdin, one line)
//   passwd-file-update USER           (FILE from $ACCOUNT_GUARD_PASSWD_FILE)
//
// e.g. account_guard_password_update_command = /usr/libexec/dovecot-account-guard/passwd-file-update /etc/dovecot/users
// (account-guard-passwd appends the user). Replaces the password field of USER's line and
// keeps everything else byte for byte; see password-policy/passwd-file.hh for the locking.
// Exit 0 stored, 1 not stored (user not found, I/O error), 2 usage error.

#include "passwd-file.hh"

#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

using namespace account_guard;

namespace {

constexpr const char *program = "passwd-file-update";
constexpr std::size_t max_hash_line = 4096;

int usage(const char *problem)
{
	std::fprintf(stderr, "%s: %s\nusage: %s FILE USER   (or %s USER with ACCOUNT_GUARD_PASSWD_FILE=FILE); "
			     "the hash is read from stdin\n",
		     program, problem, program, program);
	return 2;
}

} // namespace

int main(int argc, char **argv)
{
	std::string file, user;
	if (argc == 3) {
		file = argv[1];
		user = argv[2];
	} else if (argc == 2) {
		const char *env = std::getenv("ACCOUNT_GUARD_PASSWD_FILE");
		if (env == nullptr || *env == '\0')
			return usage("no FILE argument and ACCOUNT_GUARD_PASSWD_FILE is not set");
		file = env;
		user = argv[1];
	} else {
		return usage("wrong number of arguments");
	}
	if (std::string problem = passwd_file_user_problem(user); !problem.empty()) {
		std::fprintf(stderr, "%s: refusing the user: %s\n", program, problem.c_str());
		return 2;
	}

	std::string input;
	char buf[1024];
	for (;;) {
		ssize_t n = read(STDIN_FILENO, buf, sizeof(buf));
		if (n == 0)
			break;
		if (n < 0) {
			if (errno == EINTR)
				continue;
			std::fprintf(stderr, "%s: cannot read the hash from stdin: %s\n", program, std::strerror(errno));
			return 1;
		}
		input.append(buf, static_cast<std::size_t>(n));
		if (input.size() > max_hash_line)
			return usage("stdin holds more than one hash line");
	}
	if (!input.empty() && input.back() == '\n')
		input.pop_back();
	if (!input.empty() && input.back() == '\r')
		input.pop_back();
	if (input.find('\n') != std::string::npos)
		return usage("stdin holds more than one line; expected one hash");
	if (std::string problem = passwd_file_hash_problem(input); !problem.empty()) {
		std::fprintf(stderr, "%s: refusing the hash from stdin: %s\n", program, problem.c_str());
		return 2;
	}

	Status st = update_passwd_file(file, user, input);
	if (!st) {
		std::fprintf(stderr, "%s: %s\n", program, st.error().c_str());
		return 1;
	}
	return 0;
}
