// Internal to store/: a PostgreSQL URL as it may appear in logs and errors.
#pragma once

#include <string>

namespace chatd {

// "postgresql://user:secret@host/db" -> "postgresql://user:***@host/db".
inline std::string redact_password(const std::string& url) {
  const auto scheme = url.find("://");
  const auto at = url.find('@', scheme == std::string::npos ? 0 : scheme + 3);
  if (scheme == std::string::npos || at == std::string::npos)
    return url;
  const auto colon = url.find(':', scheme + 3);
  if (colon == std::string::npos || colon > at)
    return url;
  return url.substr(0, colon + 1) + "***" + url.substr(at);
}

}  // namespace chatd
