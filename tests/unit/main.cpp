#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>
#include <spdlog/spdlog.h>

int main(int argc, char** argv) {
  // Per-login info lines would drown the test report.
  spdlog::set_level(spdlog::level::warn);
  return doctest::Context(argc, argv).run();
}
