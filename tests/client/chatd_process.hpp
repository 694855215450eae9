// Starts a real chatd process on 127.0.0.1 (port 0) for C++ integration
// tests, and stops it by PID.
#pragma once

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>
#include <regex>
#include <stdexcept>
#include <string>

#include "protocol/usersig.hpp"

namespace chatd::test {

inline constexpr std::uint32_t app = 1400000000;
inline constexpr char key[] = "5bd2850fff3ecb11d7c805251c51ee463a25727bddc2385f3fa8bfee1bb93b5e";

inline std::string sig_for(const std::string& user, std::int64_t expire = 86400) {
  const auto now = std::chrono::duration_cast<std::chrono::seconds>(
                       std::chrono::system_clock::now().time_since_epoch())
                       .count();
  return usersig::generate({key, app, user, expire, now, {}});
}

class chatd_process {
 public:
  explicit chatd_process(const std::string& app_extra = "") {
    dir_ = std::filesystem::temp_directory_path() /
           ("chatd-client-test-" + std::to_string(std::random_device{}()));
    std::filesystem::create_directories(dir_);
    const auto config = dir_ / "chatd.toml";
    std::ofstream(config)
        << "[server]\nlisten = \"127.0.0.1:0\"\nmetrics_listen = \"127.0.0.1:0\"\n"
        << "state_dir = \"state\"\nlog_level = \"warn\"\n"
        << "max_connections_per_address = 1000000\nmax_logins_per_address_per_s = 1000000\n"
        << "\n[[app]]\nsdkappid = " << app << "\nsecret_key = \"" << key << "\"\n"
        << app_extra;
    int out[2];
    if (pipe(out) != 0)
      throw std::runtime_error("pipe");
    const std::string bin = CHATD_BIN;
    const std::string config_path = config.string();
    pid_ = fork();
    if (pid_ == 0) {
      // The child dies with the test, even if the test crashes.
      prctl(PR_SET_PDEATHSIG, SIGKILL);
      dup2(out[1], STDOUT_FILENO);
      const int null = open("/dev/null", O_WRONLY);
      dup2(null, STDERR_FILENO);
      close(out[0]);
      execl(bin.c_str(), bin.c_str(), "--config", config_path.c_str(), nullptr);
      _exit(127);
    }
    close(out[1]);
    std::string line;
    char c;
    while (read(out[0], &c, 1) == 1 && c != '\n')
      line.push_back(c);
    close(out[0]);
    std::smatch m;
    if (!std::regex_search(line, m, std::regex("gateway=([0-9.]+):([0-9]+)")))
      throw std::runtime_error("chatd did not start: " + line);
    port_ = std::stoi(m[2]);
  }

  ~chatd_process() {
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
    std::filesystem::remove_all(dir_);
  }

  std::string url() const { return "ws://127.0.0.1:" + std::to_string(port_) + "/v1/ws"; }

  // One admin REST call over a plain blocking socket; returns the body.
  std::string rest(const std::string& command, const std::string& body) const {
    namespace asio = boost::asio;
    asio::io_context io;
    asio::ip::tcp::socket socket(io);
    socket.connect({asio::ip::make_address("127.0.0.1"), static_cast<unsigned short>(port_)});
    const auto admin_sig = sig_for("administrator");
    const std::string request = "POST /v4/" + command + "?sdkappid=" + std::to_string(app) +
                                "&identifier=administrator&usersig=" + admin_sig +
                                "&random=1&contenttype=json HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                                "Connection: close\r\nContent-Length: " +
                                std::to_string(body.size()) + "\r\n\r\n" + body;
    asio::write(socket, asio::buffer(request));
    std::string response;
    boost::system::error_code ec;
    asio::read(socket, asio::dynamic_buffer(response), ec);
    return response.substr(response.find("\r\n\r\n") + 4);
  }

 private:
  std::filesystem::path dir_;
  pid_t pid_ = 0;
  int port_ = 0;
};

}  // namespace chatd::test
