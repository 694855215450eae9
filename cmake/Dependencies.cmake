# Every dependency comes from a Debian 12 package (scripts/install-deps.sh).
# cmake/chatdConfig.cmake.in finds the same ones for a project that links
# the installed chatd: keep the two lists together.
find_package(Threads REQUIRED)
find_package(Boost 1.81 REQUIRED CONFIG COMPONENTS json url)
find_package(OpenSSL REQUIRED)
find_package(ZLIB REQUIRED)
find_package(prometheus-cpp CONFIG REQUIRED)
find_package(spdlog CONFIG REQUIRED)
find_package(tomlplusplus CONFIG REQUIRED)
find_package(SQLite3 REQUIRED)
# libpqxx (the PostgreSQL store) ships a .pc file only.
find_package(PkgConfig REQUIRED)
pkg_check_modules(libpqxx REQUIRED IMPORTED_TARGET libpqxx)
include(${CMAKE_CURRENT_LIST_DIR}/chatdCAF.cmake)

# Only the tools and tests need these.
if(CHATD_BUILD_TOOLS OR CHATD_BUILD_TESTS OR CHATD_BUILD_BENCH)
  find_package(CLI11 CONFIG REQUIRED)
endif()
if(CHATD_BUILD_TESTS)
  find_package(doctest CONFIG REQUIRED)
endif()
