# Every dependency comes from Debian packages (see Makefile `deps`).
find_package(Boost 1.81 CONFIG REQUIRED COMPONENTS url)
find_package(OpenSSL 3 REQUIRED)
find_package(ZLIB REQUIRED)
find_package(Threads REQUIRED)
find_package(nlohmann_json 3 CONFIG QUIET)
