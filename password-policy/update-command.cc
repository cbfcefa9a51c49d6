#include "update-command.hh"

#include "file-util.hh"

#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace account_guard {

namespace {

void close_pair(int fd[2])
{
	if (fd[0] >= 0)
		close(fd[0]);
	if (fd[1] >= 0)
		close(fd[1]);
	fd[0] = fd[1] = -1;
}

} // namespace

Status run_update_command(const std::vector<std::string> &command, std::string_view user,
			  std::string_view hash, std::chrono::milliseconds timeout)
{
	if (command.empty())
		return failure("account_guard_password_update_command is not set");
	const std::string &program = command[0];
	std::vector<std::string> args = command;
	args.emplace_back(user);
	std::vector<char *> argv;
	for (std::string &a : args)
		argv.push_back(a.data());
	argv.push_back(nullptr);

	int in[2] = {-1, -1}, err[2] = {-1, -1};
	if (pipe2(in, O_CLOEXEC) < 0 || pipe2(err, O_CLOEXEC) < 0) {
		int e = errno;
		close_pair(in);
		close_pair(err);
		return failure(std::string("pipe() failed: ") + std::strerror(e));
	}
	pid_t pid = fork();
	if (pid < 0) {
		int e = errno;
		close_pair(in);
		close_pair(err);
		return failure(std::string("fork() failed: ") + std::strerror(e));
	}
	if (pid == 0) {
		// Our caller ignores SIGPIPE; an ignored signal stays ignored across exec.
		signal(SIGPIPE, SIG_DFL);
		if (dup2(in[0], STDIN_FILENO) < 0 || dup2(STDERR_FILENO, STDOUT_FILENO) < 0)
			_exit(127);
		execv(program.c_str(), argv.data());
		// Tell the parent why through the close-on-exec pipe (async-signal-safe only).
		int e = errno;
		(void)!write(err[1], &e, sizeof(e));
		_exit(127);
	}
	close(in[0]);
	close(err[1]);
	in[0] = err[1] = -1;

	int exec_errno = 0;
	ssize_t got;
	do {
		got = read(err[0], &exec_errno, sizeof(exec_errno));
	} while (got < 0 && errno == EINTR);
	close(err[0]);
	bool exec_failed = got == static_cast<ssize_t>(sizeof(exec_errno));

	bool written = true;
	if (!exec_failed) {
		std::string line(hash);
		line += '\n';
		// A command that exits without reading would kill us with SIGPIPE: block it for the
		// write and take back the one it raised, whatever the caller's SIGPIPE disposition.
		sigset_t pipe_set, old_set;
		sigemptyset(&pipe_set);
		sigaddset(&pipe_set, SIGPIPE);
		pthread_sigmask(SIG_BLOCK, &pipe_set, &old_set);
		written = write_all(in[1], line);
		if (!written && errno == EPIPE) {
			struct timespec zero = {0, 0};
			(void)sigtimedwait(&pipe_set, nullptr, &zero);
		}
		pthread_sigmask(SIG_SETMASK, &old_set, nullptr);
	}
	close(in[1]);

	int status = 0;
	bool timed_out = false;
	const auto deadline = std::chrono::steady_clock::now() + timeout;
	for (;;) {
		pid_t r = waitpid(pid, &status, WNOHANG);
		if (r == pid)
			break;
		if (r < 0 && errno != EINTR)
			return failure(std::string("waitpid() failed: ") + std::strerror(errno));
		if (std::chrono::steady_clock::now() >= deadline) {
			timed_out = true;
			(void)kill(pid, SIGKILL);
			while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
			}
			break;
		}
		struct timespec ts = {0, 5 * 1000 * 1000};
		nanosleep(&ts, nullptr);
	}

	const std::string what = "update command " + program;
	if (exec_failed)
		return failure(what + " cannot be run: " + std::strerror(exec_errno));
	if (timed_out)
		return failure(what + " did not finish within " +
			       (timeout.count() % 1000 == 0 ? std::to_string(timeout.count() / 1000) + "s"
							    : std::to_string(timeout.count()) + "ms") +
			       " and was killed");
	if (WIFSIGNALED(status))
		return failure(what + " was killed by signal " + std::to_string(WTERMSIG(status)));
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		return failure(what + " failed with exit code " + std::to_string(WEXITSTATUS(status)));
	if (!written)
		return failure(what + " exited without reading the hash from its stdin");
	return success();
}

} // namespace account_guard
