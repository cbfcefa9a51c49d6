#pragma once
// Fake memcached servers for AsyncMemcached's tests: a loopback socket that a thread answers by
// hand, for what memcached never does (garbage, oversized frames, a server that drops every
// connection), and the binary protocol's frames to answer with.

#include "memcached-process.hh"
#include "memcached-protocol.hh"

#include <sys/socket.h>
#include <unistd.h>

#include <climits>
#include <cstdint>
#include <functional>
#include <string>
#include <thread>
#include <vector>

namespace account_guard::test {

namespace proto = account_guard::memcached_protocol;

// A listening socket on 127.0.0.1 that a thread serves by hand with `script(listener)`.
class FakeServer {
public:
	explicit FakeServer(std::function<void(int listener)> script)
	{
		listener_ = loopback_listener(16, port_);
		thread_ = std::thread([this, script] { script(listener_); });
	}
	~FakeServer()
	{
		// Wakes a thread blocked in accept().
		shutdown(listener_, SHUT_RDWR);
		thread_.join();
		close(listener_);
	}
	std::vector<Server> servers() const { return {Server{"127.0.0.1", port_}}; }
	std::uint16_t port() const { return port_; }

private:
	int listener_ = -1;
	std::uint16_t port_ = 0;
	std::thread thread_;
};

// Reads one whole request from a blocking socket; "" at end of file.
inline std::string read_request(int fd)
{
	std::string data;
	char buf[4096];
	while (true) {
		if (data.size() >= proto::header_size) {
			std::uint32_t body = 0;
			for (int i = 8; i < 12; i++)
				body = (body << 8) | static_cast<unsigned char>(data[i]);
			if (data.size() >= proto::header_size + body)
				return data;
		}
		ssize_t n = read(fd, buf, sizeof(buf));
		if (n <= 0)
			return "";
		data.append(buf, static_cast<std::size_t>(n));
	}
}

inline std::uint32_t opaque_of(const std::string &request)
{
	std::uint32_t v = 0;
	for (int i = 12; i < 16; i++)
		v = (v << 8) | static_cast<unsigned char>(request[i]);
	return v;
}

// A binary-protocol response.
inline std::string response(std::uint8_t opcode, std::uint16_t status, std::uint32_t opaque,
		     std::uint64_t cas = 0, const std::string &extras = "",
		     const std::string &value = "", std::uint32_t claimed_body = UINT32_MAX)
{
	std::string r;
	const std::uint32_t body = claimed_body != UINT32_MAX
					   ? claimed_body
					   : static_cast<std::uint32_t>(extras.size() + value.size());
	r.push_back(static_cast<char>(0x81));
	r.push_back(static_cast<char>(opcode));
	r.push_back(0);
	r.push_back(0);
	r.push_back(static_cast<char>(extras.size()));
	r.push_back(0);
	r.push_back(static_cast<char>(status >> 8));
	r.push_back(static_cast<char>(status));
	for (int s = 24; s >= 0; s -= 8)
		r.push_back(static_cast<char>(body >> s));
	for (int s = 24; s >= 0; s -= 8)
		r.push_back(static_cast<char>(opaque >> s));
	for (int s = 56; s >= 0; s -= 8)
		r.push_back(static_cast<char>(cas >> s));
	return r + extras + value;
}

inline void write_all(int fd, const std::string &data)
{
	std::size_t done = 0;
	while (done < data.size()) {
		ssize_t n = write(fd, data.data() + done, data.size() - done);
		if (n <= 0)
			return;
		done += static_cast<std::size_t>(n);
	}
}

} // namespace account_guard::test
