// What a backend is. courier describes requests; a backend sends them.
#pragma once

#include <courier/capabilities.hpp>
#include <courier/request.hpp>
#include <courier/response.hpp>
#include <courier/response_as.hpp>

#include <concepts>

namespace courier {

/// A backend that sends HTTP requests synchronously: send_raw blocks and returns what it read,
/// throwing a courier::error on failure. request<T>::send() goes through it.
template <class B>
concept sync_backend = requires(B& b, const request_data& req, const body_destination& dest) {
  { b.send_raw(req, dest) } -> std::same_as<raw_response>;
};

}  // namespace courier
