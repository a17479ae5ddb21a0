// The asio backends the integration tests share (one each per test binary, made on first use).
#pragma once

#include <courier/asio_backend.hpp>

namespace courier::test {

/// Default options: the system CA store only, which does not know the test CA.
courier::asio_backend& default_backend();
/// Trusts the CA that tests/servers/start.sh made for this run.
courier::asio_backend& test_ca_backend();
/// Options for a backend of one's own that trusts that CA and speaks `version`.
courier::asio_backend_options test_ca_options(courier::http_version version = http_version::any);

}  // namespace courier::test
