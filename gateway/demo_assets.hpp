// The demo web page (clients/js/demo) and the chatd-chat modules it imports,
// compiled into chatd (gateway/CMakeLists.txt generates demo_assets.cpp), so
// that any chatd binary can serve it when `[server] demo = true`.
#pragma once

#include <string_view>

namespace chatd {

struct demo_asset {
  std::string_view path;  // "/demo/index.html", "/demo/chatd-chat/index.js", ...
  std::string_view content_type;
  std::string_view body;
};

// The asset at an HTTP path ("/demo/" is index.html); nullptr if none.
const demo_asset* find_demo_asset(std::string_view path);

}  // namespace chatd
