// Everything a courier user needs: requests, responses, streams, proxies, errors, and the Asio
// backend. (The stub backend for tests is <courier/testing/stub_backend.hpp>, in courier_testing.)
#pragma once

#include <courier/asio_backend.hpp>
#include <courier/backend.hpp>
#include <courier/body.hpp>
#include <courier/body_source.hpp>
#include <courier/body_stream.hpp>
#include <courier/error.hpp>
#include <courier/expected.hpp>
#include <courier/headers.hpp>
#include <courier/http_version.hpp>
#include <courier/method.hpp>
#include <courier/options.hpp>
#include <courier/progress.hpp>
#include <courier/proxy.hpp>
#include <courier/request.hpp>
#include <courier/response.hpp>
#include <courier/response_as.hpp>
#include <courier/to_curl.hpp>
#include <courier/uri.hpp>

/// \mainpage courier
/// A C++20 HTTP and WebSocket client. A courier::request is an immutable description, usually
/// started with courier::basic_request(); a backend (courier::asio_backend, or
/// courier::testing::stub_backend in tests) sends it, and a courier::response<T> holds the
/// answer with its body read as T (courier::response_as). WebSockets are opened with
/// courier::request::open_websocket() and used through courier::ws::websocket or a
/// courier::ws::listener. Failures are courier::error exceptions, each with a courier::errc.
/// The guides (requests, responses, streaming, proxies, testing, errors, cancellation) are the
/// docs/ pages of the source tree, listed in its README.md.

/// \namespace courier
/// Requests, responses, bodies, proxies, errors and the backends that send requests.

/// \namespace courier::ws
/// WebSockets: frames, messages, the buffered websocket, the listener and its sender.

/// \namespace courier::testing
/// Test doubles for code that uses courier (courier_testing): the stub backend, its matchers,
/// answers and scripted WebSocket servers.
