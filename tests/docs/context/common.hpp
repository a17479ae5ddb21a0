// What every documentation snippet may take for granted: courier's headers, the Asio and
// standard headers the pages use, the aliases they write, and one asio_backend named backend.
// A page that assumes more has a context of its own, <page>.hpp, which includes this one.
#pragma once

#include <courier/courier.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/deferred.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/use_future.hpp>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <exception>
#include <functional>
#include <iostream>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace cr = courier;
namespace asio = boost::asio;
using namespace std::chrono_literals;

// Declared, never defined: the snippets are only compiled, never linked or run.
extern cr::asio_backend backend;
