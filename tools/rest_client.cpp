#include "rest_client.hpp"

#include <curl/curl.h>

#include <boost/json.hpp>
#include <chrono>
#include <random>
#include <stdexcept>

#include "protocol/usersig.hpp"

namespace chatd {
namespace {

std::size_t collect(char* data, std::size_t size, std::size_t count, void* out) {
  static_cast<std::string*>(out)->append(data, size * count);
  return size * count;
}

}  // namespace

std::string rest_post(const admin_identity& who, const std::string& command,
                      const boost::json::object& body) {
  const auto now = std::chrono::duration_cast<std::chrono::seconds>(
                       std::chrono::system_clock::now().time_since_epoch())
                       .count();
  const auto sig = usersig::generate({who.key, who.sdkappid, who.admin, 300, now, {}});
  thread_local std::mt19937 rng(std::random_device{}());
  const auto url = who.base_url + "/v4/" + command + "?sdkappid=" + std::to_string(who.sdkappid) +
                   "&identifier=" + who.admin + "&usersig=" + sig +
                   "&random=" + std::to_string(rng()) + "&contenttype=json";
  const auto payload = boost::json::serialize(body);
  std::string response;
  CURL* curl = curl_easy_init();
  curl_slist* headers = curl_slist_append(nullptr, "Content-Type: application/json");
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(curl, CURLOPT_POSTFIELDS, payload.c_str());
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, collect);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &response);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT, 30L);
  const auto rc = curl_easy_perform(curl);
  curl_slist_free_all(headers);
  curl_easy_cleanup(curl);
  if (rc != CURLE_OK)
    throw std::runtime_error(std::string("REST call failed: ") + curl_easy_strerror(rc));
  return response;
}

}  // namespace chatd
