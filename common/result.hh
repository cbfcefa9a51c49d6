#pragma once
// Errors as values: a Result<T> holds either a T or the text of what went wrong, ready for
// the caller to print once. The library never logs and never throws for expected failures
// (a missing file, a bad setting, a corrupt database).

#include <string>
#include <utility>
#include <variant>

namespace account_guard {

struct Failure {
	std::string message;
};

inline Failure failure(std::string message)
{
	return Failure{std::move(message)};
}

template <typename T>
class [[nodiscard]] Result {
public:
	Result(T value) : state_(std::in_place_index<0>, std::move(value)) {}
	Result(Failure failure) : state_(std::in_place_index<1>, std::move(failure)) {}

	bool ok() const { return state_.index() == 0; }
	explicit operator bool() const { return ok(); }

	T &value() { return std::get<0>(state_); }
	const T &value() const { return std::get<0>(state_); }
	T &operator*() { return value(); }
	const T &operator*() const { return value(); }
	T *operator->() { return &value(); }
	const T *operator->() const { return &value(); }

	const std::string &error() const { return std::get<1>(state_).message; }

private:
	std::variant<T, Failure> state_;
};

// A Result without a value: success or the text of the failure.
struct Done {};
using Status = Result<Done>;

inline Status success()
{
	return Done{};
}

} // namespace account_guard
