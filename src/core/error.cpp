#include <courier/error.hpp>

#include <boost/system/system_error.hpp>

#include <new>
#include <system_error>

namespace courier {
namespace {

class courier_category final : public boost::system::error_category {
 public:
  const char* name() const noexcept override { return "courier"; }
  std::string message(int value) const override {
    switch (static_cast<errc>(value)) {
      case errc::invalid_request:
        return "invalid request";
      case errc::connect_failed:
        return "connection failed";
      case errc::timeout:
        return "timed out";
      case errc::read_failed:
        return "reading the response failed";
      case errc::write_failed:
        return "sending the request failed";
      case errc::tls_failed:
        return "TLS handshake or certificate verification failed";
      case errc::protocol_error:
        return "protocol error";
      case errc::too_many_redirects:
        return "too many redirects";
      case errc::body_too_large:
        return "body too large";
      case errc::file_error:
        return "file error";
      case errc::decode_failed:
        return "the body could not be decoded";
      case errc::websocket_upgrade_failed:
        return "WebSocket upgrade failed";
      case errc::websocket_closed:
        return "WebSocket closed";
      case errc::websocket_buffer_full:
        return "WebSocket buffer full";
      case errc::operation_aborted:
        return "operation aborted";
      case errc::proxy_error:
        return "the proxy refused the request";
    }
    return "unknown courier error";
  }
};

}  // namespace

const boost::system::error_category& error_category() noexcept {
  static const courier_category instance;
  return instance;
}

void throw_error(const boost::system::error_code& code, const std::string& what) {
  if (code.category() != error_category()) throw error(code, what);
  switch (static_cast<errc>(code.value())) {
    case errc::invalid_request:
      throw invalid_request(what);
    case errc::connect_failed:
      throw connect_error(what);
    case errc::timeout:
      throw timeout_error(what);
    case errc::read_failed:
      throw read_error(what);
    case errc::write_failed:
      throw write_error(what);
    case errc::tls_failed:
      throw tls_error(what);
    case errc::protocol_error:
      throw protocol_error(what);
    case errc::too_many_redirects:
      throw too_many_redirects(what);
    case errc::body_too_large:
      throw body_too_large(what);
    case errc::file_error:
      throw file_error(what);
    case errc::decode_failed:
      throw decode_error(what);
    case errc::operation_aborted:
      throw operation_aborted(what);
    case errc::proxy_error:
      throw proxy_error(what);
    default:
      throw error(code, what);
  }
}

boost::system::error_code error_code_of(const std::exception_ptr& e) noexcept {
  if (!e) return {};
  try {
    std::rethrow_exception(e);
  } catch (const error& err) {
    return err.code();
  } catch (const boost::system::system_error& err) {
    return err.code();
  } catch (const std::system_error& err) {
    return boost::system::error_code(err.code());
  } catch (const std::bad_alloc&) {
    return make_error_code(errc::body_too_large);
  } catch (...) {
    return make_error_code(errc::protocol_error);
  }
}

std::string message_of(const std::exception_ptr& e) {
  if (!e) return {};
  try {
    std::rethrow_exception(e);
  } catch (const std::exception& err) {
    return err.what();
  } catch (...) {
    return "an unknown exception";
  }
}

}  // namespace courier
