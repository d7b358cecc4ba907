#pragma once
// Where the daemon's sockets are: the command line (--socket, --admin-socket),
// then the environment (OKX_VAULT_SOCKET, OKX_VAULT_ADMIN_SOCKET), then the
// user's config file (${XDG_CONFIG_HOME:-~/.config}/okx-vault/config), then the
// system's (/etc/okx-vault/okx-vault.conf, or $OKX_VAULT_CONFIG), then the
// defaults. Both files are `name = value` lines naming `socket` and
// `admin-socket`.

#include <boost/program_options.hpp>
#include <string>
#include <vector>

#include "client/cli/commands.hpp"

namespace okxvault::cli {

inline constexpr char kSystemConfig[] = "/etc/okx-vault/okx-vault.conf";
inline constexpr char kDefaultAdminSocket[] = "/run/okx-vault/admin.sock";

// The config files that are read, the user's first (it wins), whether or not they exist.
std::vector<std::string> config_files();

// An admin socket named at a lower level than the socket is not used (a
// --socket on the command line is never paired with the admin socket of the
// config files: that would be another daemon). The default admin socket goes
// only with the default socket, and only if it exists. Throws UsageError for a
// config file that cannot be read or names an unknown option.
Sockets resolve_sockets(const boost::program_options::variables_map& command_line);

}  // namespace okxvault::cli
