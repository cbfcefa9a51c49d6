#include "secret.hh"

#include <string.h>

namespace account_guard {

void wipe(void *data, std::size_t size)
{
	if (data != nullptr && size > 0)
		explicit_bzero(data, size);
}

SecretString &SecretString::operator=(const SecretString &other)
{
	if (this != &other) {
		clear();
		s_ = other.s_;
	}
	return *this;
}

SecretString &SecretString::operator=(SecretString &&other) noexcept
{
	if (this != &other) {
		clear();
		s_ = std::move(other.s_);
		other.wipe_spare();
	}
	return *this;
}

void SecretString::clear()
{
	wipe_all();
	s_.clear();
}

} // namespace account_guard
