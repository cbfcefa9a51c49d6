#pragma once
// The little-endian integers and unsigned LEB128 varints (at most 32 bits) of the engine's
// stored values (the account record, the lock item), and a reader that checks every length
// before it reads: memcached values are untrusted input.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace account_guard {
inline void put_u8(std::string &out, std::uint8_t v) { out.push_back(static_cast<char>(v)); }
inline void put_u16(std::string &out, std::uint16_t v)
{
	put_u8(out, static_cast<std::uint8_t>(v));
	put_u8(out, static_cast<std::uint8_t>(v >> 8));
}
inline void put_u32(std::string &out, std::uint32_t v)
{
	put_u16(out, static_cast<std::uint16_t>(v));
	put_u16(out, static_cast<std::uint16_t>(v >> 16));
}
inline void put_varint(std::string &out, std::uint32_t v)
{
	while (v >= 0x80) {
		out.push_back(static_cast<char>((v & 0x7f) | 0x80));
		v >>= 7;
	}
	out.push_back(static_cast<char>(v));
}

class ByteReader {
public:
	explicit ByteReader(std::string_view data) : data_(data) {}
	bool u8(std::uint8_t *v)
	{
		if (pos_ + 1 > data_.size())
			return false;
		*v = static_cast<std::uint8_t>(data_[pos_++]);
		return true;
	}
	bool u16(std::uint16_t *v)
	{
		std::uint8_t a, b;
		if (!u8(&a) || !u8(&b))
			return false;
		*v = static_cast<std::uint16_t>(a | (b << 8));
		return true;
	}
	bool u32(std::uint32_t *v)
	{
		std::uint16_t a, b;
		if (!u16(&a) || !u16(&b))
			return false;
		*v = static_cast<std::uint32_t>(a) | (static_cast<std::uint32_t>(b) << 16);
		return true;
	}
	bool varint(std::uint32_t *v)
	{
		*v = 0;
		for (int shift = 0; shift < 35; shift += 7) {
			std::uint8_t b;
			if (!u8(&b))
				return false;
			if (shift == 28 && (b & 0x70) != 0)
				return false; // more than 32 bits
			*v |= static_cast<std::uint32_t>(b & 0x7f) << shift;
			if ((b & 0x80) == 0)
				return true;
		}
		return false;
	}
	bool bytes(std::size_t n, std::string_view *v)
	{
		if (n > data_.size() - pos_)
			return false;
		*v = data_.substr(pos_, n);
		pos_ += n;
		return true;
	}
	bool at_end() const { return pos_ == data_.size(); }
	std::size_t remaining() const { return data_.size() - pos_; }

private:
	std::string_view data_;
	std::size_t pos_ = 0;
};

} // namespace account_guard
