#pragma once
// The okx-vault commands: one function each, listed in one table that main()
// dispatches on and the help text is generated from.

#include <boost/program_options.hpp>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "client/client.hpp"

namespace okxvault::cli {
namespace po = boost::program_options;

// Which socket a command talks to.
enum class Channel {
  any,    // the admin socket if one is known and this user may connect to it, else the socket
  admin,  // the admin socket if one is known, else the socket (admin-only calls)
};

// The daemon's sockets, as the command line, the environment and the config
// files name them (see sockets.hpp).
struct Sockets {
  std::string socket;
  std::optional<std::string> admin_socket;
};

// What every command shares: the global options and one connection to the daemon.
class Context {
 public:
  Context(Sockets sockets, Channel channel, std::chrono::milliseconds timeout, bool quiet);

  // Connects on first use, so `help` and usage errors never touch the socket.
  // Error forbidden, naming the socket and the one to use, if this user may not
  // connect to it.
  Client& client();
  // The socket this command talks to.
  const std::string& socket_path() const { return socket_path_; }
  bool on_admin_socket() const { return sockets_.admin_socket && socket_path_ == *sockets_.admin_socket; }
  // Said after a `forbidden` from the daemon: which socket refused, and where admin calls go.
  std::string forbidden_hint() const;
  // --quiet: no confirmations on stderr after a success; data and errors still print.
  bool quiet() const { return quiet_; }

 private:
  Sockets sockets_;
  std::string socket_path_;
  std::chrono::milliseconds timeout_;
  bool quiet_;
  std::optional<Client> client_;
};

struct Invocation {
  po::variables_map options;
  std::vector<std::string> args;       // positional arguments after the command name
  std::vector<std::string> passed_on;  // what follows "--", for a command with passes_on
};

struct Command {
  std::string_view name;
  std::string_view synopsis;  // the arguments, as shown after "okx-vault NAME"
  std::string_view summary;   // one line for the command list
  std::string_view details;   // a paragraph for `okx-vault help NAME`
  std::size_t min_args;
  std::size_t max_args;
  void (*describe)(po::options_description& options);
  int (*run)(Context& context, const Invocation& invocation);
  Channel channel = Channel::any;
  // The words after "--" are not parsed but handed to the program the command runs.
  bool passes_on = false;
};

const std::vector<Command>& commands();
const Command* find_command(std::string_view name);

}  // namespace okxvault::cli
