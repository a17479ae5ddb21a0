// docs/cancellation.md: a request, an open websocket, a timer, an io_context and a coroutine.
#pragma once
#include "common.hpp"

#include <boost/asio/experimental/parallel_group.hpp>

extern cr::basic_request_type req;
extern cr::uri u;
extern cr::ws::websocket ws;
extern asio::steady_timer timer;
extern asio::io_context io;
asio::awaitable<void> client(cr::asio_backend& backend);

// The first snippet shows these; the later ones use || too.
#include <boost/asio/experimental/awaitable_operators.hpp>
using namespace boost::asio::experimental::awaitable_operators;
