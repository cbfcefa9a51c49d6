// The memcached binary protocol's encoder and parser (engine/memcached/memcached-protocol.cc),
// without sockets.

#include "memcached-protocol.hh"
#include "fake-memcached-server.hh" // response()

#include <catch2/catch.hpp>

#include <string>

using namespace account_guard::test;
namespace proto = account_guard::memcached_protocol;

TEST_CASE("memcached-protocol: requests are encoded as the binary protocol says")
{
	std::string out;
	proto::append_get(out, "key", 0x01020304);
	REQUIRE(out.size() == 27);
	CHECK(static_cast<unsigned char>(out[0]) == 0x80);
	CHECK(out[1] == 0x00);
	CHECK(out[2] == 0);
	CHECK(out[3] == 3);
	CHECK(out[11] == 3);
	CHECK(std::string(out, 12, 4) == std::string("\x01\x02\x03\x04", 4));
	CHECK(proto::request_key(out) == "key");
	CHECK(proto::request_opcode(out) == proto::op_get);

	out.clear();
	proto::append_store(out, proto::op_set, "k", std::string("v\0w", 3), 0x11223344,
			    0x0102030405060708ull, 9);
	REQUIRE(out.size() == 24 + 8 + 1 + 3);
	CHECK(out[1] == 0x01);
	CHECK(out[4] == 8);
	CHECK(out[11] == 12);
	CHECK(std::string(out, 16, 8) == "\x01\x02\x03\x04\x05\x06\x07\x08");
	CHECK(std::string(out, 24, 4) == std::string(4, '\0'));
	CHECK(std::string(out, 28, 4) == "\x11\x22\x33\x44");
	CHECK(proto::request_key(out) == "k");
	CHECK(std::string(out, 33) == std::string("v\0w", 3));

	out.clear();
	proto::append_delete(out, "gone", 1);
	CHECK(proto::request_opcode(out) == proto::op_delete);
	CHECK(proto::request_key(out) == "gone");
}

TEST_CASE("memcached-protocol: responses are framed, every prefix is incomplete")
{
	const std::string hit = response(0x00, 0, 77, 0xabcdef, std::string("\0\0\0\0", 4), "value");
	const std::string miss = response(0x00, 1, 78, 0, "", "Not found");
	const std::string both = hit + miss;
	proto::Response r;
	std::size_t consumed = 0;
	std::string error;
	for (std::size_t n = 0; n < hit.size(); n++)
		CHECK(proto::parse_response(std::string_view(both).substr(0, n), r, consumed, error) ==
		      proto::Parse::incomplete);
	REQUIRE(proto::parse_response(both, r, consumed, error) == proto::Parse::complete);
	CHECK(consumed == hit.size());
	CHECK(r.opaque == 77);
	CHECK(r.cas == 0xabcdef);
	CHECK(r.status == 0);
	CHECK(r.extras.size() == 4);
	CHECK(r.value == "value");
	REQUIRE(proto::parse_response(std::string_view(both).substr(consumed), r, consumed, error) ==
		proto::Parse::complete);
	CHECK(r.status == 1);
	CHECK(r.opaque == 78);
	CHECK(r.value == "Not found");
}

TEST_CASE("memcached-protocol: malformed responses are recognised")
{
	proto::Response r;
	std::size_t consumed = 0;
	std::string error;
	CHECK(proto::parse_response("HTTP/1.1 400 Bad Request\r\n", r, consumed, error) ==
	      proto::Parse::malformed);
	CHECK(error.find("magic") != std::string::npos);
	// Known at once from the first byte, without waiting for a header.
	CHECK(proto::parse_response("E", r, consumed, error) == proto::Parse::malformed);
	// A body longer than 1 MiB: refused from the header alone.
	CHECK(proto::parse_response(response(0, 0, 1, 0, "", "", 2u << 20), r, consumed, error) ==
	      proto::Parse::malformed);
	CHECK(error.find("body") != std::string::npos);
	// Extras longer than the body.
	CHECK(proto::parse_response(response(0, 0, 1, 0, "1234", "", 2), r, consumed, error) ==
	      proto::Parse::malformed);
	// A request's magic.
	std::string request;
	proto::append_get(request, "k", 1);
	CHECK(proto::parse_response(request, r, consumed, error) == proto::Parse::malformed);
}
