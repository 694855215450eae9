// chatctl: the admin REST API from the command line. Signs each call with a
// fresh admin UserSig made from the app's key in the config file, and prints
// the answer for a person (or, with --json, the JSON answer for a script).
// Exit status 0 when ActionStatus is OK.
#include <CLI/CLI.hpp>

#include <algorithm>
#include <boost/json.hpp>
#include <iostream>

#include "rest_client.hpp"
#include "server/config.hpp"
#include "ws_console.hpp"

namespace {

namespace json = boost::json;
using namespace chatd;

struct target {
  std::string base_url;
  app_config app;
};

std::string post(const target& t, const std::string& command, const json::object& body) {
  return rest_post({t.base_url, t.app.sdkappid, t.app.admin, t.app.secret_key}, command, body);
}

target resolve(const std::string& config_file, std::uint32_t sdkappid, const std::string& url) {
  const auto config = config_file.empty()
                          ? parse_config(embedded_default_config(), "<embedded>", ".")
                          : load_config_file(config_file);
  target t;
  t.base_url = url.empty() ? "http://" + config.listen : url;
  for (const auto& app : config.apps)
    if (sdkappid == 0 || app.sdkappid == sdkappid) {
      t.app = app;
      return t;
    }
  throw config_error("no app " + std::to_string(sdkappid) + " in the config");
}

std::string text_of(const json::value& v) {
  return v.is_string() ? std::string(v.get_string()) : json::serialize(v);
}

// The answer of `command` for a person: one line per fact.
void print_human(const std::string& command, const json::object& answer) {
  if (answer.at("ActionStatus").as_string() != "OK") {
    std::cout << "failed: " << text_of(answer.at("ErrorCode")) << " "
              << text_of(answer.at("ErrorInfo")) << '\n';
    return;
  }
  if (command == "openim/query_online_status") {
    for (const auto& r : answer.at("QueryResult").as_array()) {
      const auto& o = r.as_object();
      std::cout << text_of(o.at("To_Account")) << ": " << text_of(o.at("Status"));
      if (const auto* detail = o.if_contains("Detail"))
        for (const auto& d : detail->as_array())
          std::cout << "  " << text_of(d.at("Platform")) << " " << text_of(d.at("InstanceID"));
      std::cout << '\n';
    }
    if (const auto* errors = answer.if_contains("ErrorList"))
      for (const auto& e : errors->as_array())
        std::cout << text_of(e.at("To_Account")) << ": not an account ("
                  << text_of(e.at("ErrorCode")) << ")\n";
  } else if (command == "openim/sendmsg") {
    std::cout << "sent " << text_of(answer.at("MsgKey")) << " at " << text_of(answer.at("MsgTime"))
              << '\n';
  } else if (command == "openim/admin_getroammsg") {
    for (const auto& item : answer.at("MsgList").as_array()) {
      const auto& m = item.as_object();
      std::string text;
      for (const auto& e : m.at("MsgBody").as_array())
        if (const auto* c = e.as_object().if_contains("MsgContent"))
          if (const auto* t = c->as_object().if_contains("Text"))
            text += text_of(*t);
      std::cout << text_of(m.at("MsgTimeStamp")) << " " << text_of(m.at("From_Account")) << " -> "
                << text_of(m.at("To_Account")) << ": " << text << '\n';
    }
    std::cout << text_of(answer.at("MsgCnt")) << " message(s)"
              << (answer.at("Complete").to_number<int>() == 1 ? "" : ", more before these") << '\n';
  } else {
    // kick, import, the login config: what came back besides the envelope.
    bool any = false;
    for (const auto& [key, value] : answer) {
      if (key == "ActionStatus" || key == "ErrorCode" || key == "ErrorInfo")
        continue;
      std::cout << std::string(key) << ": " << text_of(value) << '\n';
      any = true;
    }
    if (!any)
      std::cout << "ok\n";
  }
}

// `config reset`'s field names and the REST fields they clear.
const std::vector<std::pair<std::string, std::string>>& reset_field_table() {
  static const std::vector<std::pair<std::string, std::string>> table{
      {"policy", "MultiDevicePolicy"},
      {"max-web-instances", "MaxWebInstances"},
      {"max-devices-per-platform", "MaxDevicesPerPlatform"},
      {"package-expire-at", "PackageExpireAt"},
      {"allowed-origins", "AllowedOrigins"},
  };
  return table;
}

std::vector<std::string> reset_field_names() {
  std::vector<std::string> names;
  for (const auto& [flag, field] : reset_field_table())
    names.push_back(flag);
  return names;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App cli{"chatctl: chatd's admin REST API (kick, online status, login config)"};
  cli.option_defaults()->always_capture_default();
  std::string config_file, url;
  std::uint32_t sdkappid = 0;
  cli.add_option("-c,--config", config_file,
                 "chatd config file with the app's key (default: embedded)");
  cli.add_option("--url", url, "chatd base URL (default: http://<server.listen>)");
  cli.add_option("--sdkappid", sdkappid, "the app (default: the first in the config)");
  bool as_json = false;
  cli.add_flag("--json", as_json, "print the JSON answer (for scripts)");
  cli.require_subcommand(1);

  std::string kick_user;
  auto* kick = cli.add_subcommand("kick", "kick every instance of a user and revoke its sigs");
  kick->add_option("user", kick_user, "userID")->required();

  std::vector<std::string> online_users;
  bool detail = false;
  auto* online = cli.add_subcommand("online", "query users' online status");
  online->add_option("users", online_users, "userIDs (at most 500)")->required();
  online->add_flag("--detail", detail, "per-platform detail");

  std::string import_user;
  auto* import = cli.add_subcommand("import", "import (register) an account");
  import->add_option("user", import_user, "userID")->required();

  auto* config_cmd = cli.add_subcommand("config", "get or set the app's login config");
  config_cmd->require_subcommand(1);
  config_cmd->add_subcommand("get", "print the login config");
  auto* set = config_cmd->add_subcommand("set", "change the login config (live, durable)");
  std::string policy;
  int max_web = 0, max_devices = 0;
  std::int64_t package_expire_at = -1;
  std::vector<std::string> origins;
  bool any_origin = false;
  set->add_option("--policy", policy, "single | dual | triple | multi");
  set->add_option("--max-web-instances", max_web, "1..10");
  set->add_option("--max-devices-per-platform", max_devices, "1..3");
  set->add_option("--package-expire-at", package_expire_at, "ms since epoch, 0 = never");
  set->add_option("--allowed-origin", origins, "allowed WebSocket Origin (repeatable)");
  set->add_flag("--any-origin", any_origin, "allow every Origin (clears the list)");
  std::vector<std::string> reset_fields;
  auto* reset = config_cmd->add_subcommand(
      "reset", "drop REST overrides: the config file's values apply again (live, durable)");
  reset
      ->add_option("fields", reset_fields,
                   "policy | max-web-instances | max-devices-per-platform | "
                   "package-expire-at | allowed-origins (none: all)")
      ->check(CLI::IsMember(reset_field_names()));

  std::string send_from, send_to, send_text;
  auto* send = cli.add_subcommand("send", "send a text message (as FROM, or as the app's admin)");
  send->add_option("from", send_from, "sender userID")->required();
  send->add_option("to", send_to, "recipient userID")->required();
  send->add_option("text", send_text, "the text")->required();

  std::string history_user, history_peer;
  int history_max = 20;
  auto* history = cli.add_subcommand("history", "the newest messages between two users");
  history->add_option("user", history_user, "userID")->required();
  history->add_option("peer", history_peer, "the other userID")->required();
  history->add_option("--max", history_max, "at most this many (1..100)")
      ->check(CLI::Range(1, 100));

  std::string ws_url;
  auto* ws = cli.add_subcommand(
      "ws",
      "an interactive WebSocket console: lines in (raw JSON, `login USER [PLATFORM]`, "
      "`OP [JSON]`), frames out");
  ws->add_option("url", ws_url, "ws://HOST:PORT/v1/ws (default: the config's listen)");
  CLI11_PARSE(cli, argc, argv);

  try {
    const auto t = resolve(config_file, sdkappid, url);
    if (*ws) {
      if (ws_url.empty())
        ws_url = "ws://" + t.base_url.substr(t.base_url.find("://") + 3) + "/v1/ws";
      return run_ws_console(ws_url, {t.app.sdkappid, t.app.secret_key});
    }
    std::string command;
    json::object body;
    if (*kick) {
      command = "im_open_login_svc/kick";
      body["UserID"] = kick_user;
    } else if (*online) {
      command = "openim/query_online_status";
      json::array to;
      for (const auto& u : online_users)
        to.emplace_back(u);
      body["To_Account"] = std::move(to);
      body["IsNeedDetail"] = detail ? 1 : 0;
    } else if (*send) {
      command = "openim/sendmsg";
      body["From_Account"] = send_from;
      body["To_Account"] = send_to;
      body["MsgBody"] = json::array{
          json::object{{"MsgType", "TIMTextElem"}, {"MsgContent", {{"Text", send_text}}}}};
    } else if (*history) {
      command = "openim/admin_getroammsg";
      body["Operator_Account"] = history_user;
      body["Peer_Account"] = history_peer;
      body["MaxCnt"] = history_max;
      body["MinTime"] = 0;
      body["MaxTime"] = std::int64_t{4102444800};  // 2100-01-01: everything retained
    } else if (*import) {
      command = "im_open_login_svc/account_import";
      body["UserID"] = import_user;
    } else if (*set) {
      command = "chatd_admin/set_login_config";
      if (!policy.empty())
        body["MultiDevicePolicy"] = policy;
      if (max_web != 0)
        body["MaxWebInstances"] = max_web;
      if (max_devices != 0)
        body["MaxDevicesPerPlatform"] = max_devices;
      if (package_expire_at >= 0)
        body["PackageExpireAt"] = package_expire_at;
      if (!origins.empty() || any_origin) {
        json::array list;
        for (const auto& o : origins)
          list.emplace_back(o);
        body["AllowedOrigins"] = std::move(list);
      }
    } else if (*reset) {
      command = "chatd_admin/set_login_config";
      for (const auto& [flag, field] : reset_field_table())
        if (reset_fields.empty() ||
            std::find(reset_fields.begin(), reset_fields.end(), flag) != reset_fields.end())
          body[field] = nullptr;
    } else {
      command = "chatd_admin/get_login_config";
    }
    const auto answer = post(t, command, body);
    const auto parsed = json::parse(answer).as_object();
    if (as_json)
      std::cout << answer << '\n';
    else
      print_human(command, parsed);
    return parsed.at("ActionStatus").as_string() == "OK" ? 0 : 1;
  } catch (const std::exception& e) {
    std::cerr << "chatctl: " << e.what() << '\n';
    return 2;
  }
}
