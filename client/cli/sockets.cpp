#include "client/cli/sockets.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <optional>
#include <utility>

#include "client/cli/exit_codes.hpp"
#include "proto/messages.hpp"

namespace okxvault::cli {
namespace po = boost::program_options;
namespace {

std::optional<std::string> environment(const char* name) {
  const char* value = std::getenv(name);
  if (value == nullptr || *value == '\0') return std::nullopt;
  return std::string(value);
}

// The settings of the config files, the user's stored first so that it wins.
po::variables_map read_config_files() {
  po::options_description options;
  options.add_options()("socket", po::value<std::string>())("admin-socket", po::value<std::string>());
  po::variables_map settings;
  for (const std::string& path : config_files()) {
    // A file this user cannot even see (another user's home) is as good as absent.
    struct stat info {};
    if (::stat(path.c_str(), &info) != 0) continue;
    std::ifstream in(path);
    if (!in) throw UsageError("cannot read the config file " + path + ": " + std::strerror(errno));
    try {
      po::store(po::parse_config_file(in, options), settings);
    } catch (const po::error& e) {
      throw UsageError("config file " + path + ": " + e.what() + " (it may name socket and admin-socket)");
    }
  }
  return settings;
}

// A setting and how strongly it was given: 3 command line, 2 environment, 1 a
// config file, 0 not at all.
struct Setting {
  std::optional<std::string> value;
  int level = 0;
};

Setting setting(const po::variables_map& command_line, const po::variables_map& files, const char* option,
                const char* env) {
  if (command_line.count(option) != 0 && !command_line[option].as<std::string>().empty()) {
    return {command_line[option].as<std::string>(), 3};
  }
  if (auto value = environment(env)) return {std::move(value), 2};
  if (files.count(option) != 0 && !files[option].as<std::string>().empty()) return {files[option].as<std::string>(), 1};
  return {};
}

}  // namespace

std::vector<std::string> config_files() {
  std::vector<std::string> files;
  if (const auto xdg = environment("XDG_CONFIG_HOME"); xdg && xdg->front() == '/') {
    files.push_back(*xdg + "/okx-vault/config");
  } else if (const auto home = environment("HOME")) {
    files.push_back(*home + "/.config/okx-vault/config");
  }
  files.push_back(environment("OKX_VAULT_CONFIG").value_or(kSystemConfig));
  return files;
}

Sockets resolve_sockets(const po::variables_map& command_line) {
  const po::variables_map files = read_config_files();
  const Setting socket = setting(command_line, files, "socket", std::string(proto::kSocketEnv).c_str());
  const Setting admin = setting(command_line, files, "admin-socket", "OKX_VAULT_ADMIN_SOCKET");
  Sockets sockets{socket.value.value_or(std::string(proto::kDefaultSocket)), std::nullopt};
  if (admin.value && admin.level >= socket.level) {
    sockets.admin_socket = admin.value;
  } else if (!admin.value && socket.level == 0 && ::access(kDefaultAdminSocket, F_OK) == 0) {
    sockets.admin_socket = kDefaultAdminSocket;
  }
  return sockets;
}

}  // namespace okxvault::cli
