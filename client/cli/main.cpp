// okx-vault: the admin CLI of okx-vaultd. Global options come before the command
// (git style) and are also accepted after it; each command is a function in the
// table of commands.cpp. Errors are one line on stderr and a documented exit code.

#include <algorithm>
#include <cmath>
#include <iostream>
#include <string>
#include <vector>

#include "client/cli/commands.hpp"
#include "client/cli/exit_codes.hpp"
#include "client/cli/sockets.hpp"
#include "proto/messages.hpp"

namespace okxvault::cli {
namespace {

constexpr std::string_view kExitCodes =
    "Exit codes:\n"
    "  0  success\n"
    "  1  other error (a server error, or a revoke you declined)\n"
    "  2  usage error\n"
    "  3  daemon unreachable (no socket, timeout, or not an okx-vaultd), or retry later\n"
    "     (too many wrong passphrases)\n"
    "  4  permission denied (not an admin, or no grant or rule allows it, the key\n"
    "     expired, or a wrong passphrase)\n"
    "  5  not found (no such key)\n"
    "  6  invalid input (bad name, key exists, bad request, timestamp skew, too large,\n"
    "     removing the last way to open the vault)\n"
    "  7  the vault is locked (okx-vault unlock)\n"
    "  8  a secret was not sent: the socket's server is not root or the daemon's user,\n"
    "     or others may write to the socket's directory\n";

// No abbreviations: `--sim` silently meaning `--simulated` is not worth the surprise.
constexpr int kStyle = po::command_line_style::default_style & ~po::command_line_style::allow_guessing;

po::options_description global_options() {
  po::options_description options("Global options");
  options.add_options()(
      "socket", po::value<std::string>(),
      "daemon socket (default: $OKX_VAULT_SOCKET, else the config files, else /run/okx-vault/okx-vault.sock)")(
      "admin-socket", po::value<std::string>(),
      "the daemon's admin socket, for admin commands (default: $OKX_VAULT_ADMIN_SOCKET, else the config files, else "
      "/run/okx-vault/admin.sock if it exists and --socket is not given)")(
      "timeout", po::value<double>(), "give up on the daemon after this many seconds (default 10)")(
      "quiet,q", po::bool_switch(), "print no confirmations after a success")(
      "version,V", po::bool_switch(), "print the version and exit")("help,h", po::bool_switch(),
                                                                    "show help (okx-vault help COMMAND for a command)");
  return options;
}

void print_usage(std::ostream& out) {
  out << "Usage: okx-vault [--socket PATH] [--admin-socket PATH] [--timeout SECONDS] [--quiet] COMMAND [ARGS]\n\n"
         "Administer okx-vaultd, the local vault for OKX V5 API keys, and sign with it.\n\n"
         "Commands:\n";
  std::size_t width = 12;  // the widest name and two spaces
  for (const Command& command : commands()) width = std::max(width, command.name.size() + 2);
  for (const Command& command : commands()) {
    out << "  " << command.name << std::string(width - command.name.size(), ' ') << command.summary << '\n';
  }
  out << "  help" << std::string(width - 4, ' ') << "show help for a command\n\n"
      << global_options() << '\n'
      << kExitCodes << "\nRun 'okx-vault help COMMAND' for a command's arguments and options.\n";
}

po::options_description command_options(const Command& command) {
  po::options_description options("Options");
  command.describe(options);
  return options;
}

void print_command_help(const Command& command, std::ostream& out) {
  out << "Usage: okx-vault " << command.name << ' ' << command.synopsis << "\n\n"
      << command.summary << ".\n\n"
      << command.details << "\n\n";
  const auto options = command_options(command);
  if (!options.options().empty()) out << options << '\n';
  out << global_options() << '\n' << kExitCodes;
}

// Text for roff: backslashes and hyphens escaped, and no line that starts with
// a control character.
std::string roff(std::string_view text) {
  std::string out;
  for (char c : text) {
    if (c == '\\') {
      out += "\\e";
    } else if (c == '-') {
      out += "\\-";
    } else {
      out += c;
    }
  }
  std::string safe;
  bool line_start = true;
  for (char c : out) {
    if (line_start && (c == '.' || c == '\'')) safe += "\\&";
    safe += c;
    line_start = c == '\n';
  }
  return safe;
}

// A help paragraph as roff: prose lines are filled, lines indented by two
// spaces (examples) are kept as they are.
std::string roff_paragraph(std::string_view text) {
  std::string out;
  bool example = false;
  std::size_t start = 0;
  while (start <= text.size()) {
    const std::size_t end = std::min(text.find('\n', start), text.size());
    const std::string_view line = text.substr(start, end - start);
    const bool indented = line.starts_with("  ");
    if (indented != example) out += indented ? ".PP\n.nf\n" : ".fi\n";
    example = indented;
    out += roff(line) + "\n";
    start = end + 1;
  }
  if (example) out += ".fi\n";
  return out;
}

std::string roff_options(const po::options_description& options) {
  std::string out;
  for (const auto& option : options.options()) {
    out += ".TP\n\\fB" + roff(option->format_name()) + "\\fR";
    const std::string parameter = option->format_parameter();
    if (!parameter.empty()) out += " \\fI" + roff(parameter) + "\\fR";
    out += "\n" + roff(option->description()) + "\n";
  }
  return out;
}

// okx-vault(1), made from the same table as the help, so that the two agree.
void print_man_page(std::ostream& out) {
  out << ".TH OKX\\-VAULT 1 \"\" \"okx\\-vault " << proto::kVersion << "\" \"User Commands\"\n"
      << ".SH NAME\nokx\\-vault \\- administer okx\\-vaultd and sign OKX V5 requests with it\n"
      << ".SH SYNOPSIS\n.B okx\\-vault\n"
      << roff("[--socket PATH] [--admin-socket PATH] [--timeout SECONDS] [--quiet] COMMAND [ARGS]") << "\n"
      << ".SH DESCRIPTION\n"
      << roff(
             "okx-vault administers okx-vaultd, the local vault for OKX V5 API keys: it adds, lists, grants and "
             "revokes keys, locks and unlocks the vault, and signs requests with it. Secrets and passphrases are "
             "never read from arguments: on a terminal they are asked for without echo, otherwise read from "
             "stdin, one per line. Global options come before the command and are also accepted after it; "
             "options are never abbreviated.")
      << "\n.SH COMMANDS\n";
  for (const Command& command : commands()) {
    out << ".SS \"" << roff("okx-vault " + std::string(command.name) + " " + std::string(command.synopsis)) << "\"\n"
        << roff(command.summary) << ".\n.PP\n"
        << roff_paragraph(command.details) << roff_options(command_options(command));
  }
  out << ".SS \"okx\\-vault help \\fR[\\fICOMMAND\\fR]\"\n"
      << "Show the list of commands, or one command's arguments and options.\n"
      << ".SH GLOBAL OPTIONS\n"
      << roff_options(global_options()) << ".SH FILES\n.TP\n.I " << roff(kSystemConfig) << "\n"
      << roff("The system's config file: name = value lines naming socket and admin-socket.") << "\n"
      << ".TP\n.I " << roff("${XDG_CONFIG_HOME:-~/.config}/okx-vault/config") << "\n"
      << roff("The user's config file, read first: what it names wins over the system's.") << "\n"
      << ".TP\n.I " << roff(proto::kDefaultSocket) << "\n"
      << roff("The daemon's socket for bots: status, list, sign, curl and ws-login.") << "\n"
      << ".TP\n.I " << roff(kDefaultAdminSocket) << "\n"
      << roff("The admin socket (root only) under systemd: admin commands go there.") << "\n"
      << ".SH ENVIRONMENT\n.TP\n.B OKX_VAULT_SOCKET\n"
      << roff("The socket, unless --socket is given.") << "\n.TP\n.B OKX_VAULT_ADMIN_SOCKET\n"
      << roff("The admin socket, unless --admin-socket is given.") << "\n.TP\n.B OKX_VAULT_CONFIG\n"
      << roff("Read this file instead of " + std::string(kSystemConfig) + ".") << "\n"
      << ".SH EXIT STATUS\n.nf\n"
      << roff(kExitCodes.substr(kExitCodes.find('\n') + 1)) << ".fi\n"
      << ".SH SEE ALSO\n.BR okx\\-vaultd (8),\n.BR curl (1),\n"
      << roff("/usr/share/doc/okx-vault/README.md and PROTOCOL.md") << "\n";
}

// Where the command is: the first word that is neither a global option nor the
// value of one.
std::size_t command_position(const std::vector<std::string>& args, const po::options_description& global) {
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg == "--") return i + 1;  // ends the global options; the command follows
    if (arg.size() < 2 || arg[0] != '-') return i;
    if (arg.starts_with("--") && arg.find('=') == std::string::npos) {
      const auto* option = global.find_nothrow(arg.substr(2), false);
      if (option != nullptr && option->semantic()->max_tokens() > 0) ++i;
    }
  }
  return args.size();
}

// An unknown option may be a secret typed where it does not belong
// (--secret=...): name the option, never its value.
std::string unknown_option(const std::string& token) {
  if (token.starts_with("--")) return "unknown option '" + token.substr(0, token.find('=')) + "'";
  if (token.size() <= 2) return "unknown option '" + token + "'";
  return "unknown option in an argument starting with '" + token.substr(0, 2) + "'";
}

void parse(const std::vector<std::string>& args, const po::options_description& options,
           const po::positional_options_description& positional, po::variables_map& vm) {
  try {
    po::store(po::command_line_parser(args).options(options).positional(positional).style(kStyle).run(), vm);
  } catch (const po::unknown_option& e) {
    throw UsageError(unknown_option(e.get_option_name()));
  } catch (const po::too_many_positional_options_error&) {
    throw UsageError("too many arguments");
  } catch (const po::error& e) {
    throw UsageError(e.what());
  }
}

std::chrono::milliseconds timeout_of(const po::variables_map& vm) {
  if (vm.count("timeout") == 0) return std::chrono::seconds(10);
  const double seconds = vm["timeout"].as<double>();
  if (!std::isfinite(seconds) || seconds <= 0 || seconds > 86400) {
    throw UsageError("--timeout must be a number of seconds between 0 and 86400");
  }
  return std::chrono::milliseconds(static_cast<long long>(std::ceil(seconds * 1000)));
}

// Optimal string alignment distance: insertions, deletions, substitutions and
// swaps of two neighbours each cost one ("lsit" is one from "list").
std::size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::vector<std::size_t>> d(a.size() + 1, std::vector<std::size_t>(b.size() + 1));
  for (std::size_t i = 0; i <= a.size(); ++i) d[i][0] = i;
  for (std::size_t j = 0; j <= b.size(); ++j) d[0][j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
      d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
        d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
    }
  }
  return d[a.size()][b.size()];
}

// "unknown command 'lsit' (did you mean 'list'?)": the nearest command within
// two edits, and nearer than the word is long.
UsageError unknown_command(const std::string& name) {
  std::string_view best;
  std::size_t best_distance = 3;
  std::vector<std::string_view> names = {"help"};
  for (const Command& command : commands()) names.push_back(command.name);
  for (const std::string_view candidate : names) {
    const std::size_t distance = edit_distance(name, candidate);
    if (distance < best_distance && distance < name.size()) {
      best = candidate;
      best_distance = distance;
    }
  }
  std::string message = "unknown command '" + name + "'";
  if (!best.empty()) message += " (did you mean '" + std::string(best) + "'?)";
  return UsageError(message);
}

// The daemon's messages speak of the protocol's fields; say them as the
// command's arguments and options instead.
std::string in_cli_terms(std::string_view command, const std::string& message) {
  struct Term {
    std::string_view commands;  // space-separated
    std::string_view daemon;    // how the daemon's message starts
    std::string_view cli;
  };
  static constexpr Term kTerms[] = {
      {"sign curl", "method ", "METHOD "},
      {"sign curl", "path ", "PATH "},
      {"sign curl ws-login", "timestamp ", "--timestamp "},
      {"sign curl", "a GET request has no body", "a GET request has no body: give no --body"},
      {"sign curl", "a POST body ", "the body (--body) "},
      {"add update", "api_key ", "--api-key "},
      {"add", "expires ", "--expires "},
      {"grant", "a rule", "--allow and --deny: a rule"},
      {"grant", "rule '", "--allow or --deny: rule '"},
      {"grant", "no such user", "--user: no such user"},
      {"grant", "no such group", "--group: no such group"},
      {"restore", "rename ", "--rename "},
  };
  for (const Term& term : kTerms) {
    bool applies = false;
    for (std::size_t at = 0; at < term.commands.size();) {
      const std::size_t end = std::min(term.commands.find(' ', at), term.commands.size());
      applies = applies || term.commands.substr(at, end - at) == command;
      at = end + 1;
    }
    if (applies && message.starts_with(term.daemon)) return std::string(term.cli) + message.substr(term.daemon.size());
  }
  return message;
}

int run_command(const Command& command, const std::vector<std::string>& rest, const po::options_description& global,
                po::variables_map& vm) {
  // Global options are welcome after the command too: `okx-vault list --json --socket s`.
  po::options_description options = command_options(command);
  options.add(global);
  options.add_options()("args", po::value<std::vector<std::string>>()->composing(), "");
  po::positional_options_description positional;
  positional.add("args", -1);
  std::vector<std::string> own = rest, passed_on;
  if (command.passes_on) {
    const auto dashes = std::find(own.begin(), own.end(), "--");
    if (dashes != own.end()) {
      passed_on.assign(dashes + 1, own.end());
      own.erase(dashes, own.end());
    }
  }
  parse(own, options, positional, vm);

  if (vm["help"].as<bool>()) {
    print_command_help(command, std::cout);
    return kExitOk;
  }
  if (vm["version"].as<bool>()) {
    std::cout << "okx-vault " << proto::kVersion << '\n';
    return kExitOk;
  }
  Invocation invocation{vm, vm.count("args") ? vm["args"].as<std::vector<std::string>>() : std::vector<std::string>{},
                        std::move(passed_on)};
  if (invocation.args.size() < command.min_args) {
    throw UsageError(std::string(command.name) + " needs " + std::string(command.synopsis));
  }
  // Never echo the extra words: one of them may be a secret typed on the command line.
  if (invocation.args.size() > command.max_args) {
    throw UsageError("too many arguments for '" + std::string(command.name) + "'");
  }
  try {
    po::notify(vm);
  } catch (const po::error& e) {
    throw UsageError(std::string(command.name) + ": " + e.what());
  }

  Context context(resolve_sockets(vm), command.channel, timeout_of(vm), vm["quiet"].as<bool>());
  try {
    return command.run(context, invocation);
  } catch (const okxvault::Error& e) {
    std::string message = in_cli_terms(command.name, e.what());
    // Who refused matters as much as the refusal: name the socket and the one to use.
    if (e.code() == Code::forbidden && message.find(context.socket_path()) == std::string::npos) {
      message += context.forbidden_hint();
    }
    if (message == e.what()) throw;
    throw okxvault::Error(e.code(), message, e.rule());
  }
}

int run(const std::vector<std::string>& args) {
  // Not an option anyone types: the build makes the manual page with it.
  if (args.size() == 1 && args.front() == "--man-page") {
    print_man_page(std::cout);
    return kExitOk;
  }
  const po::options_description global = global_options();
  const std::size_t at = command_position(args, global);
  po::variables_map vm;
  parse({args.begin(), args.begin() + static_cast<std::ptrdiff_t>(at)}, global, {}, vm);

  if (at == args.size()) {
    if (vm["version"].as<bool>()) {
      std::cout << "okx-vault " << proto::kVersion << '\n';
      return kExitOk;
    }
    if (vm["help"].as<bool>()) {
      print_usage(std::cout);
      return kExitOk;
    }
    throw UsageError("no command given");
  }

  const std::string& name = args[at];
  const std::vector<std::string> rest(args.begin() + static_cast<std::ptrdiff_t>(at) + 1, args.end());
  if (name == "help") {
    if (rest.empty()) {
      print_usage(std::cout);
      return kExitOk;
    }
    const Command* command = find_command(rest.front());
    if (command == nullptr) throw unknown_command(rest.front());
    print_command_help(*command, std::cout);
    return kExitOk;
  }
  const Command* command = find_command(name);
  if (command == nullptr) throw unknown_command(name);

  try {
    return run_command(*command, rest, global, vm);
  } catch (const UsageError& e) {
    throw UsageError(e.what(), std::string(command->name));
  }
}

}  // namespace
}  // namespace okxvault::cli

int main(int argc, char** argv) {
  using namespace okxvault::cli;
  try {
    return run(std::vector<std::string>(argv + 1, argv + argc));
  } catch (const UsageError& e) {
    const std::string help = e.command().empty() ? "okx-vault --help" : "okx-vault help " + e.command();
    std::cerr << "okx-vault: " << e.what() << " (see '" << help << "')\n";
    return kExitUsage;
  } catch (const okxvault::Error& e) {
    std::cerr << "okx-vault: " << e.what() << '\n';
    return exit_code_for(e.code());
  } catch (const std::exception& e) {
    std::cerr << "okx-vault: " << e.what() << '\n';
    return kExitFailure;
  }
}
