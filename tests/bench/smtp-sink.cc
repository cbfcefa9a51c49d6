// smtp-sink: the relay behind Dovecot's submission service in the submission benchmark
// (issue 8, item 4). Accepts everything, stores nothing, answers at once; one thread, epoll,
// so that the sink is never what limits recipients per second.
//
//   smtp-sink PORT       (listens on 127.0.0.1 only; stops on SIGTERM or after --max-seconds)
//
// Understands what Dovecot's relay client sends: EHLO/HELO, MAIL, RCPT, DATA (up to the
// lone "."), RSET, NOOP, QUIT; anything else gets 250 too. On exit prints one JSON line with
// the counts ({"connections":..,"mail":..,"rcpt":..,"data":..}) to stdout.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <string>
#include <unordered_map>

namespace {

volatile sig_atomic_t stop = 0;

void on_signal(int) { stop = 1; }

struct Client {
	std::string in;
	std::string out;
	bool in_data = false;
};

long connections = 0, mails = 0, rcpts = 0, datas = 0;

bool starts_with_ci(const std::string &line, const char *word)
{
	return strncasecmp(line.c_str(), word, std::strlen(word)) == 0;
}

void handle_line(Client &c, const std::string &line, bool &close_after)
{
	if (c.in_data) {
		if (line == ".") {
			c.in_data = false;
			datas++;
			c.out += "250 2.0.0 Ok: queued\r\n";
		}
		return;
	}
	if (starts_with_ci(line, "EHLO")) {
		c.out += "250-sink.invalid\r\n250-PIPELINING\r\n250-8BITMIME\r\n250-SIZE 104857600\r\n"
			 "250-ENHANCEDSTATUSCODES\r\n250 SMTPUTF8\r\n";
	} else if (starts_with_ci(line, "HELO")) {
		c.out += "250 sink.invalid\r\n";
	} else if (starts_with_ci(line, "MAIL")) {
		mails++;
		c.out += "250 2.1.0 Ok\r\n";
	} else if (starts_with_ci(line, "RCPT")) {
		rcpts++;
		c.out += "250 2.1.5 Ok\r\n";
	} else if (starts_with_ci(line, "DATA")) {
		c.in_data = true;
		c.out += "354 End data with <CR><LF>.<CR><LF>\r\n";
	} else if (starts_with_ci(line, "QUIT")) {
		c.out += "221 2.0.0 Bye\r\n";
		close_after = true;
	} else {
		c.out += "250 2.0.0 Ok\r\n";
	}
}

} // namespace

int main(int argc, char **argv)
{
	if (argc < 2) {
		std::fprintf(stderr, "usage: smtp-sink PORT [--max-seconds N]\n");
		return 2;
	}
	const int port = std::atoi(argv[1]);
	double max_seconds = 600;
	if (argc >= 4 && std::strcmp(argv[2], "--max-seconds") == 0)
		max_seconds = std::atof(argv[3]);
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);
	signal(SIGPIPE, SIG_IGN);

	int lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	int one = 1;
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	sockaddr_in sa{};
	sa.sin_family = AF_INET;
	sa.sin_port = htons(static_cast<uint16_t>(port));
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(lfd, reinterpret_cast<sockaddr *>(&sa), sizeof(sa)) < 0 || listen(lfd, 128) < 0) {
		std::fprintf(stderr, "smtp-sink: cannot listen on 127.0.0.1:%d: %s\n", port, std::strerror(errno));
		return 1;
	}
	int ep = epoll_create1(0);
	epoll_event ev{};
	ev.events = EPOLLIN;
	ev.data.fd = lfd;
	epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev);
	std::unordered_map<int, Client> clients;
	const time_t deadline = time(nullptr) + static_cast<time_t>(max_seconds);

	auto drop = [&](int fd) {
		epoll_ctl(ep, EPOLL_CTL_DEL, fd, nullptr);
		close(fd);
		clients.erase(fd);
	};

	epoll_event events[64];
	while (!stop && time(nullptr) < deadline) {
		int n = epoll_wait(ep, events, 64, 200);
		for (int i = 0; i < n; i++) {
			int fd = events[i].data.fd;
			if (fd == lfd) {
				int cfd;
				while ((cfd = accept4(lfd, nullptr, nullptr, SOCK_NONBLOCK)) >= 0) {
					setsockopt(cfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
					epoll_event cev{};
					cev.events = EPOLLIN;
					cev.data.fd = cfd;
					epoll_ctl(ep, EPOLL_CTL_ADD, cfd, &cev);
					Client &c = clients[cfd];
					c.out = "220 sink.invalid ESMTP\r\n";
					if (write(cfd, c.out.data(), c.out.size()) < 0) {
						drop(cfd);
						continue;
					}
					c.out.clear();
					connections++;
				}
				continue;
			}
			auto it = clients.find(fd);
			if (it == clients.end())
				continue;
			Client &c = it->second;
			char buf[65536];
			ssize_t r = read(fd, buf, sizeof(buf));
			if (r <= 0) {
				if (r < 0 && errno == EAGAIN)
					continue;
				drop(fd);
				continue;
			}
			c.in.append(buf, static_cast<size_t>(r));
			bool close_after = false;
			size_t pos = 0;
			for (;;) {
				size_t nl = c.in.find('\n', pos);
				if (nl == std::string::npos)
					break;
				size_t end = nl > pos && c.in[nl - 1] == '\r' ? nl - 1 : nl;
				handle_line(c, c.in.substr(pos, end - pos), close_after);
				pos = nl + 1;
			}
			c.in.erase(0, pos);
			// Replies are small; a blocking-free write of them is all-or-nothing in practice.
			size_t off = 0;
			while (off < c.out.size()) {
				ssize_t w = write(fd, c.out.data() + off, c.out.size() - off);
				if (w < 0) {
					if (errno == EAGAIN) {
						usleep(100);
						continue;
					}
					close_after = true;
					break;
				}
				off += static_cast<size_t>(w);
			}
			c.out.clear();
			if (close_after)
				drop(fd);
		}
	}
	std::printf("{\"connections\":%ld,\"mail\":%ld,\"rcpt\":%ld,\"data\":%ld}\n", connections, mails, rcpts, datas);
	return 0;
}
