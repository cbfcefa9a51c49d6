#pragma once
// Memory that holds a password, or anything derived from one (its normalised form, its code
// points), is wiped before it is released. SecretString wipes its own inline buffer when it is
// destroyed and every heap buffer it gives back; SecretCodePoints relies on the wiping
// allocator alone (a vector keeps nothing inline).

#include <cstddef>
#include <new>
#include <string>
#include <string_view>
#include <vector>

namespace account_guard {

// explicit_bzero: a memset the compiler may not remove.
void wipe(void *data, std::size_t size);

template <typename T>
struct WipingAllocator {
	using value_type = T;

	WipingAllocator() noexcept = default;
	template <typename U>
	WipingAllocator(const WipingAllocator<U> &) noexcept {}

	T *allocate(std::size_t n) { return static_cast<T *>(::operator new(n * sizeof(T))); }
	void deallocate(T *p, std::size_t n) noexcept
	{
		wipe(p, n * sizeof(T));
		::operator delete(p);
	}

	template <typename U>
	bool operator==(const WipingAllocator<U> &) const noexcept { return true; }
	template <typename U>
	bool operator!=(const WipingAllocator<U> &) const noexcept { return false; }
};

class SecretString {
public:
	using Storage = std::basic_string<char, std::char_traits<char>, WipingAllocator<char>>;

	SecretString() = default;
	explicit SecretString(std::string_view text) : s_(text.data(), text.size()) {}
	SecretString(const SecretString &other) : s_(other.s_) {}
	SecretString(SecretString &&other) noexcept : s_(std::move(other.s_)) { other.wipe_spare(); }
	SecretString &operator=(const SecretString &other);
	SecretString &operator=(SecretString &&other) noexcept;
	~SecretString() { wipe_all(); }

	std::string_view view() const { return std::string_view(s_.data(), s_.size()); }
	const char *c_str() const { return s_.c_str(); }
	char *data() { return s_.data(); }
	std::size_t size() const { return s_.size(); }
	bool empty() const { return s_.empty(); }

	void reserve(std::size_t n) { s_.reserve(n); }
	void resize(std::size_t n) { s_.resize(n); }
	void append(std::string_view text) { s_.append(text.data(), text.size()); }
	void push_back(char c) { s_.push_back(c); }
	// Empties the string and wipes what it held.
	void clear();

	bool operator==(const SecretString &other) const { return s_ == other.s_; }
	bool operator!=(const SecretString &other) const { return s_ != other.s_; }

private:
	void wipe_all() { wipe(s_.data(), s_.capacity()); }
	void wipe_spare() { wipe(s_.data(), s_.capacity()); }

	Storage s_;
};

using SecretCodePoints = std::vector<char32_t, WipingAllocator<char32_t>>;

} // namespace account_guard
