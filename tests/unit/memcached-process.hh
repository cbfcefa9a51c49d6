#pragma once
// A real memcached for tests: started by the test itself on 127.0.0.1 (never any other
// address) on a free port, killed when the object goes away, and some loopback helpers.
// Shared by the memcached adapter's tests and the reliability suite.

#include "memcached-store.hh"

#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

namespace account_guard::test {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

inline const char memcached_path[] = "/usr/bin/memcached";

using Clock = std::chrono::steady_clock;

inline double ms_since(Clock::time_point start)
{
	return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

// A TCP socket bound to 127.0.0.1 on a port the kernel picked (written to `port`).
inline int bound_loopback_socket(std::uint16_t &port)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	REQUIRE(fd >= 0);
	sockaddr_in addr{};
	addr.sin_family = AF_INET;
	addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	REQUIRE(bind(fd, reinterpret_cast<sockaddr *>(&addr), sizeof(addr)) == 0);
	socklen_t len = sizeof(addr);
	REQUIRE(getsockname(fd, reinterpret_cast<sockaddr *>(&addr), &len) == 0);
	port = ntohs(addr.sin_port);
	return fd;
}

// A listening TCP socket on 127.0.0.1 with an ephemeral port (written to `port`).
inline int loopback_listener(int backlog, std::uint16_t &port)
{
	int listener = bound_loopback_socket(port);
	REQUIRE(listen(listener, backlog) == 0);
	return listener;
}

// A port on 127.0.0.1 that accepts no connection: a listening socket whose accept queue is
// full, so Linux drops further SYNs and connect() hangs exactly as towards a blackholed host,
// without leaving the loopback interface.
class UnansweredPort {
public:
	UnansweredPort()
	{
		listener_ = loopback_listener(0, port_);
		sockaddr_in addr{};
		addr.sin_family = AF_INET;
		addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		addr.sin_port = htons(port_);
		for (int &fd : fillers_) {
			fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
			connect(fd, reinterpret_cast<sockaddr *>(&addr), sizeof(addr));
		}
		std::this_thread::sleep_for(50ms);
	}
	~UnansweredPort()
	{
		for (int fd : fillers_)
			close(fd);
		close(listener_);
	}
	UnansweredPort(const UnansweredPort &) = delete;
	UnansweredPort &operator=(const UnansweredPort &) = delete;

	std::uint16_t port() const { return port_; }

private:
	int listener_ = -1;
	int fillers_[3] = {-1, -1, -1};
	std::uint16_t port_ = 0;
};

// A socket connected to 127.0.0.1:port, or -1.
inline int connect_loopback(std::uint16_t port)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	sockaddr_in addr{};
	addr.sin_family = AF_INET;
	addr.sin_port = htons(port);
	addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (connect(fd, reinterpret_cast<sockaddr *>(&addr), sizeof(addr)) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

// The numeric value of one line of memcached's "stats" on 127.0.0.1:port, or -1 if nothing
// answers there.
inline long stat(std::uint16_t port, const std::string &name)
{
	int fd = connect_loopback(port);
	if (fd < 0)
		return -1;
	const char request[] = "stats\r\n";
	std::string reply;
	if (write(fd, request, sizeof(request) - 1) == ssize_t(sizeof(request) - 1)) {
		char buf[4096];
		while (reply.find("END\r\n") == std::string::npos) {
			ssize_t n = read(fd, buf, sizeof(buf));
			if (n <= 0)
				break;
			reply.append(buf, std::size_t(n));
		}
	}
	close(fd);
	const std::string field = "STAT " + name + " ";
	std::size_t at = reply.find(field);
	if (at == std::string::npos)
		return -1;
	return std::strtol(reply.c_str() + at + field.size(), nullptr, 10);
}

// A loopback port on which nothing listens (the kernel picked it free a moment ago).
inline std::uint16_t free_port()
{
	std::uint16_t port = 0;
	close(bound_loopback_socket(port));
	return port;
}

// A loopback port that stays dead while this object lives: bound (so that no one else can
// take it) but not listening, so connecting to it is refused.
class DeadPort {
public:
	DeadPort() { fd_ = bound_loopback_socket(port_); }
	~DeadPort() { close(fd_); }
	DeadPort(const DeadPort &) = delete;
	DeadPort &operator=(const DeadPort &) = delete;

	std::uint16_t port() const { return port_; }

private:
	int fd_ = -1;
	std::uint16_t port_ = 0;
};

// A memcached child process on 127.0.0.1 (never any other address), killed by the destructor.
class MemcachedProcess {
public:
	// `options` replace the default memory size ("-m 64"), e.g. {"-m", "4", "-M"}.
	explicit MemcachedProcess(std::vector<std::string> options = {"-m", "64"}) : options_(std::move(options))
	{
		// The one case for a skip: the tool is absent (meson reads exit status 77 so).
		if (access(memcached_path, X_OK) != 0) {
			std::fprintf(stderr, "%s not found: skipping\n", memcached_path);
			std::exit(77);
		}
		for (int attempt = 0; attempt < 5 && pid_ < 0; attempt++) {
			port_ = free_port();
			start();
		}
		REQUIRE(pid_ > 0);
	}
	~MemcachedProcess() { stop(); }
	MemcachedProcess(const MemcachedProcess &) = delete;
	MemcachedProcess &operator=(const MemcachedProcess &) = delete;

	std::uint16_t port() const { return port_; }
	std::vector<Server> servers() const { return {Server{"127.0.0.1", port_}}; }
	pid_t pid() const { return pid_; }

	// Starts memcached on port() and waits until it answers; pid() < 0 if it did not come up
	// (e.g. another test process took the port meanwhile).
	void start()
	{
		std::string port = std::to_string(port_);
		pid_t pid = fork();
		REQUIRE(pid >= 0);
		if (pid == 0) {
			// Never outlive the test process.
			prctl(PR_SET_PDEATHSIG, SIGKILL);
			int null = open("/dev/null", O_RDWR);
			dup2(null, STDOUT_FILENO);
			dup2(null, STDERR_FILENO);
			std::vector<const char *> argv = {"memcached", "-l", "127.0.0.1", "-p", port.c_str(), "-U", "0"};
			for (const std::string &o : options_)
				argv.push_back(o.c_str());
			// memcached refuses to run as root without -u.
			if (geteuid() == 0) {
				argv.push_back("-u");
				argv.push_back("nobody");
			}
			argv.push_back(nullptr);
			execv(memcached_path, const_cast<char *const *>(argv.data()));
			_exit(127);
		}
		pid_ = pid;
		auto deadline = Clock::now() + 5s;
		while (Clock::now() < deadline) {
			int status;
			if (waitpid(pid_, &status, WNOHANG) == pid_) {
				pid_ = -1;
				return;
			}
			// Whoever answers on the port must be our child, not a memcached that a
			// test running in parallel started on the same port a moment earlier.
			long answering = stat(port_, "pid");
			if (answering == pid_)
				return;
			if (answering > 0)
				break;
			std::this_thread::sleep_for(5ms);
		}
		stop();
	}

	void stop()
	{
		if (pid_ <= 0)
			return;
		kill(pid_, SIGCONT);
		kill(pid_, SIGKILL);
		waitpid(pid_, nullptr, 0);
		pid_ = -1;
	}

	// Stops memcached (SIGSTOP) and returns once every one of its threads is stopped, so that
	// nothing it had under way can still answer.
	void pause()
	{
		kill(pid_, SIGSTOP);
		const auto deadline = Clock::now() + 20s;
		while (!all_threads_stopped()) {
			REQUIRE(Clock::now() < deadline);
			std::this_thread::sleep_for(1ms);
		}
	}
	void resume() { kill(pid_, SIGCONT); }

	// memcached's count of connections it ever accepted (this query's one included). Unlike
	// the count of open ones it does not depend on when memcached gets round to closing the
	// connections of start() or of earlier queries.
	long accepted_connections() const
	{
		long value = stat(port_, "total_connections");
		REQUIRE(value >= 0);
		return value;
	}

private:
	// Whether /proc says every thread of the process is stopped ('T').
	bool all_threads_stopped() const
	{
		const std::string tasks = "/proc/" + std::to_string(pid_) + "/task";
		DIR *dir = opendir(tasks.c_str());
		REQUIRE(dir != nullptr);
		bool all = true, any = false;
		while (dirent *entry = readdir(dir)) {
			if (entry->d_name[0] == '.')
				continue;
			std::FILE *f = std::fopen((tasks + "/" + entry->d_name + "/stat").c_str(), "r");
			if (f == nullptr)
				continue; // a thread that has just ended
			char line[512];
			const bool read = std::fgets(line, sizeof(line), f) != nullptr;
			std::fclose(f);
			// "tid (comm) S ...": the state follows the last ')'.
			const char *end = read ? std::strrchr(line, ')') : nullptr;
			if (end == nullptr || end[1] != ' ')
				continue;
			any = true;
			if (end[2] != 'T')
				all = false;
		}
		closedir(dir);
		return any && all;
	}

	std::vector<std::string> options_;
	std::uint16_t port_ = 0;
	pid_t pid_ = -1;
};

} // namespace account_guard::test
