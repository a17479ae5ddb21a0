// Backend capabilities, checked at compile time.
#pragma once

namespace courier {

/// A backend that can open WebSockets declares `static constexpr bool supports_websockets = true`.
template <class B>
concept websocket_capable = requires {
  requires B::supports_websockets == true;
};

/// A backend that streams bodies declares `static constexpr bool supports_streaming = true`.
template <class B>
concept streaming_capable = requires {
  requires B::supports_streaming == true;
};

namespace detail {
template <class>
inline constexpr bool dependent_false = false;

/// True for response body types that the backend hands out unread, to be pulled by the caller
/// (body_stream): reading them needs a streaming_capable backend.
template <class T>
inline constexpr bool streams_body = false;
}  // namespace detail

}  // namespace courier
