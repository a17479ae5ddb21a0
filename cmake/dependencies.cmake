# Every dependency comes from Debian packages (see Makefile `deps`).
find_package(Boost 1.81 CONFIG REQUIRED COMPONENTS url)
find_package(OpenSSL 3 REQUIRED)
find_package(ZLIB REQUIRED)
find_package(Threads REQUIRED)
find_package(nlohmann_json 3 CONFIG QUIET)

# Optional Content-Encoding decoders (src/core/content_decoder.cpp): br and zstd, used when
# pkg-config finds them. Without them courier decodes gzip and deflate only.
option(COURIER_WITH_BROTLI "Decode brotli (br) response bodies when libbrotlidec is found" ON)
option(COURIER_WITH_ZSTD "Decode zstd response bodies when libzstd is found" ON)
find_package(PkgConfig QUIET)
if(PKG_CONFIG_FOUND AND COURIER_WITH_BROTLI)
  pkg_check_modules(COURIER_BROTLIDEC QUIET libbrotlidec)
endif()
if(PKG_CONFIG_FOUND AND COURIER_WITH_ZSTD)
  pkg_check_modules(COURIER_ZSTD QUIET libzstd)
endif()

# HTTP/2 (src/proto/http2): nghttp2, which does no I/O itself; required. Found with pkg-config and
# linked by absolute path like the decoders above.
if(NOT PKG_CONFIG_FOUND)
  message(FATAL_ERROR "pkg-config is needed to find libnghttp2 (apt-get install pkgconf)")
endif()
pkg_check_modules(COURIER_NGHTTP2 REQUIRED libnghttp2>=1.52)
