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
#include <courier/method.hpp>
#include <courier/options.hpp>
#include <courier/progress.hpp>
#include <courier/proxy.hpp>
#include <courier/request.hpp>
#include <courier/response.hpp>
#include <courier/response_as.hpp>
#include <courier/to_curl.hpp>
#include <courier/uri.hpp>
