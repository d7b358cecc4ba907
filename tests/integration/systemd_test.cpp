// The service pieces, tested for real without systemd as PID 1: the unit files
// through systemd-analyze, socket activation through systemd-socket-activate,
// readiness and watchdog through a NOTIFY_SOCKET we listen on, credentials
// through CREDENTIALS_DIRECTORY, and the .deb through cpack and dpkg-deb.

#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <gtest/gtest.h>
#include <chrono>
#include <cstring>
#include <thread>

#include "client/client.hpp"
#include "tests/support/process.hpp"

namespace okxvault {
namespace {
namespace fs = std::filesystem;

const std::string kSource = OKXVAULT_SOURCE_DIR;
const std::string kBuild = OKXVAULT_BUILD_DIR;

// The units as shipped, generated as an install generates them
// (systemd/units.cmake), for an sbin directory where the binary built here is.
void copy_units(const fs::path& to) {
  const test::Output out = test::run(
      {"/usr/bin/cmake", "-DSBINDIR=" + fs::path(test::daemon_binary()).parent_path().string(),
       "-DDOCDIR=/usr/share/doc/okx-vault", "-DOUT_DIR=" + to.string(), "-P", kSource + "/systemd/units.cmake"});
  ASSERT_EQ(out.exit_code, 0) << out.out << out.err;
  ASSERT_NE(test::read_file(to / "okx-vault.service").find("ExecStart=" + test::daemon_binary() + " --config"),
            std::string::npos);
}

void add_key(const fs::path& socket) {
  Client(socket.string())
      .add({"main", "ak-0a1b2c3d4e5f", SecretBytes::copy_of("SYSTEMD-TEST-SECRET-0123456789"),
            SecretBytes::copy_of("Unit#Pass1"), false});
}

void expect_signs(const fs::path& socket) {
  const auto reply = Client(socket.string()).sign("main", {"GET", "/api/v5/account/balance", "", std::nullopt});
  EXPECT_EQ(reply.headers.at(0).second, "ak-0a1b2c3d4e5f");
}

// An initialized vault in dir/state with one key, no daemon running.
void prepare_vault(const fs::path& dir) {
  test::Daemon daemon(dir);
  add_key(daemon.socket());
  ASSERT_EQ(daemon.stop(), 0);
}

void wait_for_socket(const fs::path& path, test::Process& process) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (!test::can_connect(path)) {
    ASSERT_FALSE(process.exited().has_value()) << "exited before listening";
    ASSERT_LT(std::chrono::steady_clock::now(), deadline) << "never listened on " << path;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

TEST(Systemd, UnitsVerify) {
  test::TempDir dir;
  copy_units(dir.path());
  const test::Output out = test::run({"/usr/bin/systemd-analyze", "verify", (dir / "okx-vault.service").string(),
                                      (dir / "okx-vault.socket").string(), (dir / "okx-vault-admin.socket").string()});
  EXPECT_EQ(out.exit_code, 0) << out.err;
  EXPECT_EQ(out.err, "");
}

// The template units, as an instance: systemd-analyze verifies okx-vault@paper.*
// from a copy of each template under its instance's name.
TEST(Systemd, TemplateUnitsVerify) {
  test::TempDir dir;
  copy_units(dir.path());
  std::vector<std::string> argv{"/usr/bin/systemd-analyze", "verify"};
  for (const char* unit : {"okx-vault@.service", "okx-vault@.socket", "okx-vault-admin@.socket"}) {
    std::string instance = unit;
    instance.insert(instance.find('@') + 1, "paper");
    fs::copy_file(dir / unit, dir / instance);
    argv.push_back((dir / instance).string());
  }
  const test::Output out = test::run(argv);
  EXPECT_EQ(out.exit_code, 0) << out.err;
  EXPECT_EQ(out.err, "");
  const std::string service = test::read_file(dir / "okx-vault@.service");
  EXPECT_NE(service.find(" --config /etc/okx-vault/%i.conf --state-dir /var/lib/okx-vault/%i\n"), std::string::npos)
      << service;
  EXPECT_NE(service.find("\nStateDirectory=okx-vault/%i\n"), std::string::npos) << service;
  EXPECT_NE(test::read_file(dir / "okx-vault-admin@.socket").find("ListenStream=/run/okx-vault/%i/admin.sock"),
            std::string::npos);
}

// The single vault's and the instances' services differ only where the instance
// shows: the hardening is the same text.
TEST(Systemd, TemplateServiceIsTheServiceWithAnInstance) {
  test::TempDir dir;
  copy_units(dir.path());
  const std::string single = test::read_file(dir / "okx-vault.service");
  const std::string templ = test::read_file(dir / "okx-vault@.service");
  const auto from = [](const std::string& text) { return text.substr(text.find("LimitCORE=0")); };
  EXPECT_EQ(from(single), from(templ));
}

TEST(Systemd, ExposureScoreIsAtMostHalf) {
  test::TempDir dir;
  copy_units(dir.path());
  const test::Output out =
      test::run({"/usr/bin/systemd-analyze", "security", "--offline=true", (dir / "okx-vault.service").string()});
  const std::string label = "Overall exposure level for okx-vault.service: ";
  const std::size_t at = out.out.find(label);
  ASSERT_NE(at, std::string::npos) << out.out << out.err;
  const double score = std::stod(out.out.substr(at + label.size()));
  EXPECT_LE(score, 0.5) << out.out;
  // Settings that would hide peers' real uids must stay off: grants depend on them.
  EXPECT_EQ(test::read_file(dir / "okx-vault.service").find("PrivateUsers=yes"), std::string::npos);
}

// An admin call on the client socket is refused, root's included, naming the
// admin socket to use.
void expect_admin_calls_refused(const fs::path& client_socket, const fs::path& admin_socket) {
  Client on_client(client_socket.string());
  try {
    on_client.revoke("main");
    FAIL() << "an admin call went through the client socket";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Code::forbidden);
    EXPECT_NE(std::string(e.what()).find("admin calls go to the daemon's admin socket " + admin_socket.string()),
              std::string::npos)
        << e.what();
  }
}

TEST(Systemd, SocketActivationServesOnThePassedSocket) {
  test::TempDir dir;
  prepare_vault(dir.path());
  const fs::path socket = dir / "activated.sock";
  test::Process activator({"/usr/bin/systemd-socket-activate", "--listen=" + socket.string(), "--fdname=client",
                           test::daemon_binary(), "--state-dir", (dir / "state").string(), "--socket",
                           (dir / "never-bound.sock").string()},
                          dir / "activated.log");
  wait_for_socket(socket, activator);
  expect_signs(socket);
  EXPECT_FALSE(fs::exists(dir / "never-bound.sock")) << "an activated daemon binds nothing itself";
  EXPECT_NE(test::read_file(dir / "activated.log").find("socket-activated descriptor 3 (client, admin)"),
            std::string::npos)
      << test::read_file(dir / "activated.log");
  EXPECT_EQ(activator.stop(SIGTERM), 0);
}

TEST(Systemd, AnActivatedAdminSocketIsTheOnlyOneForAdminCallsAndIsNamedInRefusals) {
  test::TempDir dir;
  prepare_vault(dir.path());
  const fs::path client = dir / "client.sock", admin = dir / "admin.sock";
  test::Process activator({"/usr/bin/systemd-socket-activate", "--listen=" + client.string(),
                           "--listen=" + admin.string(), "--fdname=client:admin", test::daemon_binary(), "--state-dir",
                           (dir / "state").string(), "--socket", (dir / "never-bound.sock").string()},
                          dir / "activated.log");
  wait_for_socket(client, activator);
  expect_admin_calls_refused(client, admin);
  EXPECT_EQ(Client(admin.string()).list().size(), 1u);
  EXPECT_EQ(activator.stop(SIGTERM), 0);
}

TEST(Systemd, WithAnAdminSocketTheClientSocketRefusesAdminCalls) {
  test::TempDir dir;
  prepare_vault(dir.path());
  test::Process daemon({test::daemon_binary(), "--state-dir", (dir / "state").string(), "--socket",
                        (dir / "client.sock").string(), "--admin-socket", (dir / "admin.sock").string()},
                       dir / "daemon.log");
  wait_for_socket(dir / "admin.sock", daemon);
  expect_admin_calls_refused(dir / "client.sock", dir / "admin.sock");
  Client on_admin((dir / "admin.sock").string());
  EXPECT_EQ(on_admin.list().size(), 1u);
  EXPECT_EQ(fs::status(dir / "admin.sock").permissions() & fs::perms::all,
            fs::perms::owner_read | fs::perms::owner_write);
  EXPECT_EQ(daemon.stop(), 0);
}

// With --admin-group the admin socket is that group's too (0660), as
// okx-vault-admin.socket is: its members are admins, so they must reach it.
TEST(Systemd, WithAnAdminGroupTheAdminSocketIsTheGroups) {
  test::TempDir dir;
  prepare_vault(dir.path());
  const gid_t gid = ::getgid();
  test::Process daemon({test::daemon_binary(), "--state-dir", (dir / "state").string(), "--socket",
                        (dir / "client.sock").string(), "--admin-socket", (dir / "admin.sock").string(),
                        "--admin-group", std::to_string(gid)},
                       dir / "daemon.log");
  wait_for_socket(dir / "admin.sock", daemon);
  EXPECT_EQ(fs::status(dir / "admin.sock").permissions() & fs::perms::all,
            fs::perms::owner_read | fs::perms::owner_write | fs::perms::group_read | fs::perms::group_write);
  struct stat info {};
  ASSERT_EQ(::stat((dir / "admin.sock").c_str(), &info), 0);
  EXPECT_EQ(info.st_gid, gid);
  EXPECT_EQ(Client((dir / "admin.sock").string()).list().size(), 1u);
  EXPECT_EQ(daemon.stop(), 0);
}

class NotifySocket {
 public:
  explicit NotifySocket(const fs::path& path) : path_(path), fd_(::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0)) {
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, path.c_str(), sizeof addr.sun_path - 1);
    if (::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) throw std::runtime_error("bind");
  }
  ~NotifySocket() { ::close(fd_); }

  // The next datagram, or "" if none arrives in time.
  std::string next(std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(timeout.count())) != 1) return {};
    char buffer[4096];
    const ssize_t n = ::recv(fd_, buffer, sizeof buffer, 0);
    return n > 0 ? std::string(buffer, static_cast<std::size_t>(n)) : std::string();
  }

 private:
  fs::path path_;
  int fd_;
};

TEST(Systemd, NotifiesReadyWatchdogAndStopping) {
  test::TempDir dir;
  prepare_vault(dir.path());
  NotifySocket notify(dir / "notify");
  test::Process daemon({test::daemon_binary(), "--state-dir", (dir / "state").string(), "--socket",
                        (dir / "okx-vault.sock").string()},
                       dir / "daemon.log", {"NOTIFY_SOCKET=" + (dir / "notify").string(), "WATCHDOG_USEC=200000"});
  const std::string ready = notify.next();
  EXPECT_NE(ready.find("READY=1"), std::string::npos) << ready;
  EXPECT_NE(ready.find("STATUS=serving 1 keys"), std::string::npos) << ready;
  EXPECT_TRUE(test::can_connect(dir / "okx-vault.sock")) << "READY=1 only once listening";

  // WATCHDOG_USEC=200 ms: pings every 100 ms.
  const auto start = std::chrono::steady_clock::now();
  int pings = 0;
  while (pings < 5) {
    const std::string message = notify.next(std::chrono::seconds(2));
    ASSERT_EQ(message, "WATCHDOG=1");
    ++pings;
  }
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(3));

  ::kill(daemon.pid(), SIGTERM);
  std::string message = "WATCHDOG=1";
  for (int i = 0; i < 20 && message == "WATCHDOG=1"; ++i) message = notify.next();  // one may be in flight
  EXPECT_NE(message.find("STOPPING=1"), std::string::npos) << message;
  EXPECT_EQ(daemon.stop(SIGTERM), 0);
}

TEST(Systemd, OpensTheVaultWithACredential) {
  test::TempDir dir;
  prepare_vault(dir.path());
  const fs::path credentials = dir / "credentials";
  fs::create_directory(credentials);
  fs::rename(dir / "state" / "master.key", credentials / "okx-vault.key");
  test::Process daemon({test::daemon_binary(), "--state-dir", (dir / "state").string(), "--socket",
                        (dir / "okx-vault.sock").string()},
                       dir / "daemon.log", {"CREDENTIALS_DIRECTORY=" + credentials.string()});
  wait_for_socket(dir / "okx-vault.sock", daemon);
  expect_signs(dir / "okx-vault.sock");
  EXPECT_EQ(daemon.stop(), 0);
}

TEST(Systemd, UnderJournaldLogLinesCarryTheirPriority) {
  test::TempDir dir;
  prepare_vault(dir.path());
  fs::remove(dir / "state" / "master.key");
  test::Process daemon({test::daemon_binary(), "--state-dir", (dir / "state").string(), "--socket",
                        (dir / "okx-vault.sock").string()},
                       dir / "journal.log", {"JOURNAL_STREAM=8:12345"});
  while (!daemon.exited()) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  const std::string log = test::read_file(dir / "journal.log");
  EXPECT_TRUE(log.starts_with("<3>")) << log;  // the missing key file is an error
  EXPECT_NE(log.find("master.key"), std::string::npos) << log;
}

TEST(Systemd, DebianPackageHoldsTheExpectedFiles) {
  test::TempDir dir;
  const test::Output pack =
      test::run({"/usr/bin/cpack", "--config", kBuild + "/CPackConfig.cmake", "-G", "DEB", "-B", dir.path().string()});
  ASSERT_EQ(pack.exit_code, 0) << pack.out << pack.err;
  fs::path deb;
  for (const auto& entry : fs::directory_iterator(dir.path())) {
    if (entry.path().extension() == ".deb") deb = entry.path();
  }
  ASSERT_FALSE(deb.empty());
  const std::string contents = test::run({"/usr/bin/dpkg-deb", "--contents", deb.string()}).out;
  for (const char* file :
       {"./usr/sbin/okx-vaultd", "./usr/bin/okx-vault", "./usr/lib/systemd/system/okx-vault.service",
        "./usr/lib/systemd/system/okx-vault.socket", "./usr/lib/systemd/system/okx-vault-admin.socket",
        "./usr/lib/systemd/system/okx-vault@.service", "./usr/lib/systemd/system/okx-vault@.socket",
        "./usr/lib/systemd/system/okx-vault-admin@.socket", "./usr/lib/sysusers.d/okx-vault.conf",
        "./etc/okx-vault/okx-vaultd.conf", "./usr/share/doc/okx-vault/README.md", "./usr/share/doc/okx-vault/copyright",
        "./usr/share/doc/okx-vault/changelog.Debian.gz", "./usr/share/man/man1/okx-vault.1.gz",
        "./usr/share/man/man8/okx-vaultd.8.gz", "./usr/share/bash-completion/completions/okx-vault",
        "./usr/share/zsh/vendor-completions/_okx-vault", "./etc/okx-vault/okx-vault.conf",
        "./etc/logrotate.d/okx-vault"}) {
    EXPECT_NE(contents.find(file), std::string::npos) << file << " missing from\n" << contents;
  }
  // The C++ client library is for bots' builds (cmake --install --component Development).
  for (const char* file : {"./usr/include/", "okxvault_client.a", "/cmake/okxvault/"}) {
    EXPECT_EQ(contents.find(file), std::string::npos) << file << " in the service's package\n" << contents;
  }
  const std::string postinst = test::run({"/usr/bin/dpkg-deb", "--info", deb.string(), "postinst"}).out;
  EXPECT_NE(postinst.find("systemd-sysusers ${DPKG_ROOT:+--root=\"$DPKG_ROOT\"} okx-vault.conf"), std::string::npos)
      << postinst;
  EXPECT_NE(postinst.find("daemon-reload"), std::string::npos) << postinst;
  const std::string conffiles = test::run({"/usr/bin/dpkg-deb", "--info", deb.string(), "conffiles"}).out;
  EXPECT_EQ(conffiles, "/etc/okx-vault/okx-vaultd.conf\n/etc/okx-vault/okx-vault.conf\n/etc/logrotate.d/okx-vault\n");
  for (const char* script : {"prerm", "postrm"}) {
    const std::string text = test::run({"/usr/bin/dpkg-deb", "--info", deb.string(), script}).out;
    EXPECT_NE(text.find("deb-systemd-"), std::string::npos) << script << ":\n" << text;
  }
}

}  // namespace
}  // namespace okxvault
