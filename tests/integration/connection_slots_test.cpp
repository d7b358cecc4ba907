// Connection slots with real users: an ungranted user holding as many
// connections as it can gets no more than its share (--max-connections-per-uid),
// and at the global limit its idle connections are shed first, so that a
// granted bot running as another user, and root, still get every request
// answered. The daemon runs as root; the hog and the bot are system users
// created here, known to the daemon only by SO_PEERCRED.

#include <grp.h>
#include <poll.h>
#include <pwd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fcntl.h>

#include <gtest/gtest.h>
#include <chrono>
#include <cstring>
#include <sstream>
#include <thread>

#include "client/client.hpp"
#include "tests/support/process.hpp"

namespace okxvault {
namespace {

constexpr const char* kHog = "okxv-test-hog";
constexpr const char* kBot = "okxv-test-slotbot";
constexpr const char* kClientsGroup = "okxv-test-cli";  // may connect to the socket

void sh(const std::string& command) { test::run({"/bin/sh", "-c", command}); }

// Connections opened one after another, each asked for /v1/status: those answered
// 200 stay open (idle, as the daemon sees them), those refused are counted.
struct Connections {
  std::vector<int> open;
  int refused = 0;      // 503 too_many_connections
  int other = 0;        // anything else: a failed connect, another status, no answer
  std::string refusal;  // the body of the first refusal

  ~Connections() {
    for (int fd : open) ::close(fd);
  }

  void add(const std::filesystem::path& socket, int count) {
    for (int i = 0; i < count; ++i) {
      const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
      sockaddr_un addr{};
      addr.sun_family = AF_UNIX;
      std::strncpy(addr.sun_path, socket.c_str(), sizeof addr.sun_path - 1);
      if (fd < 0 || ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
        ++other;
        if (fd >= 0) ::close(fd);
        continue;
      }
      const std::string request = "GET /v1/status HTTP/1.1\r\nHost: x\r\n\r\n";
      // A refusal may come before the request is sent (which then fails): read it all the same.
      ::send(fd, request.data(), request.size(), MSG_NOSIGNAL);
      const std::string reply = read_reply(fd);
      if (reply.starts_with("HTTP/1.1 200 ")) {
        open.push_back(fd);
        continue;
      }
      ::close(fd);
      if (reply.starts_with("HTTP/1.1 503 ") && reply.find("too_many_connections") != std::string::npos) {
        if (refused++ == 0) refusal = reply.substr(reply.find("\r\n\r\n") + 4);
      } else {
        ++other;
      }
    }
  }

  // How many of the open connections the daemon has closed.
  int closed_by_daemon() const {
    int closed = 0;
    for (int fd : open) {
      pollfd p{fd, POLLIN, 0};
      closed += ::poll(&p, 1, 0) > 0;
    }
    return closed;
  }

 private:
  // One reply, framed by its Content-Length.
  static std::string read_reply(int fd) {
    std::string reply;
    char buffer[4096];
    for (;;) {
      const auto end = reply.find("\r\n\r\n");
      if (end != std::string::npos) {
        const auto at = reply.find("Content-Length: ");
        const std::size_t length = at == std::string::npos ? 0 : std::stoul(reply.substr(at + 16));
        if (reply.size() >= end + 4 + length) return reply;
      }
      const ssize_t n = ::recv(fd, buffer, sizeof buffer, 0);
      if (n <= 0) return reply;
      reply.append(buffer, static_cast<std::size_t>(n));
    }
  }
};

// Connections held by a child process running as `user`, until destroyed.
class HeldAs {
 public:
  HeldAs(const std::filesystem::path& socket, const char* user, int count) {
    int report[2], release[2];
    if (::pipe2(report, O_CLOEXEC) != 0 || ::pipe2(release, O_CLOEXEC) != 0) throw std::runtime_error("pipe failed");
    const passwd* entry = ::getpwnam(user);
    if (entry == nullptr) throw std::runtime_error(std::string("no user ") + user);
    const uid_t uid = entry->pw_uid;
    const gid_t gid = entry->pw_gid;
    pid_ = ::fork();
    if (pid_ == 0) {
      // Only its own pipes: another child's release pipe held open here would never close.
      for (int fd = 3; fd < 1024; ++fd) {
        if (fd != report[1] && fd != release[0]) ::close(fd);
      }
      if (::setgid(gid) != 0 || ::initgroups(user, gid) != 0 || ::setuid(uid) != 0) ::_exit(3);
      Connections held;
      held.add(socket, count);
      const std::string out = std::to_string(held.open.size()) + " " + std::to_string(held.refused) + " " +
                              std::to_string(held.other) + "\n" + held.refusal;
      if (::write(report[1], out.data(), out.size()) != static_cast<ssize_t>(out.size())) ::_exit(4);
      ::close(report[1]);
      char byte;
      while (::read(release[0], &byte, 1) > 0) {
      }
      // Released: report how many of its connections the daemon closed meanwhile.
      const std::string closed = std::to_string(held.closed_by_daemon());
      ::_exit(closed.size() == 1 ? closed[0] - '0' + 10 : 9);  // 10 + closed, 9 for ten or more
    }
    ::close(report[1]);
    ::close(release[0]);
    release_ = release[1];
    std::string out;
    char buffer[4096];
    for (ssize_t n; (n = ::read(report[0], buffer, sizeof buffer)) > 0;)
      out.append(buffer, static_cast<std::size_t>(n));
    ::close(report[0]);
    const auto newline = out.find('\n');
    if (newline == std::string::npos) throw std::runtime_error("the child running as " + std::string(user) + " failed");
    std::istringstream counts(out.substr(0, newline));
    counts >> held_ >> refused_ >> other_;
    refusal_ = out.substr(newline + 1);
  }
  ~HeldAs() { release(); }

  // Lets the child go; returns how many of its connections the daemon had closed
  // (9 for nine or more).
  int release() {
    if (pid_ <= 0) return closed_;
    ::close(release_);
    int status = 0;
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
    closed_ = WIFEXITED(status) && WEXITSTATUS(status) >= 10 ? WEXITSTATUS(status) - 10 : 9;
    return closed_;
  }

  int held() const { return held_; }
  int refused() const { return refused_; }
  int other() const { return other_; }
  const std::string& refusal() const { return refusal_; }

 private:
  pid_t pid_ = -1;
  int release_ = -1;
  int held_ = 0, refused_ = 0, other_ = 0, closed_ = 0;
  std::string refusal_;
};

class ConnectionSlotsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (::geteuid() != 0) return;
    sh(std::string("getent group ") + kClientsGroup + " || groupadd --system " + kClientsGroup);
    for (const char* user : {kHog, kBot}) {
      sh(std::string("id ") + user + " || useradd --system --no-create-home --shell /usr/sbin/nologin " + user);
      sh(std::string("usermod -a -G ") + kClientsGroup + " " + user);
    }
  }

  void start(int max_connections, int per_uid) {
    ::chmod(dir_.path().c_str(), 0711);  // users reach the socket; the state dir stays 0700
    daemon_ = std::make_unique<test::Daemon>(
        dir_.path(),
        std::vector<std::string>{"--socket-group", kClientsGroup, "--max-connections", std::to_string(max_connections),
                                 "--max-connections-per-uid", std::to_string(per_uid)});
    Client admin(daemon_->socket().string());
    admin.add(
        {"main", "ak-7f3e9c1b2a4d", SecretBytes::copy_of("5E1F0C9A8B7D6E5F"), SecretBytes::copy_of("Pass-42"), false});
    const auto reply =
        admin.request("PUT", "/v1/keys/main/grants", std::string(R"({"grants":[{"user":")") + kBot + "\"}]}");
    ASSERT_EQ(reply.status, 200) << reply.body;
    // The counts start from this connection alone: the daemon has seen the
    // others (the start-up probe's) close, which it learns only when it reads.
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (admin.request("GET", "/v1/metrics").body.find("\nokxvault_open_connections 1\n") == std::string::npos) {
      ASSERT_LT(std::chrono::steady_clock::now(), deadline) << "connections from the start-up are still open";
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  }

  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root: creates system users and connects as them";
  }

  // Signs as the bot, each over a new connection (curl under the bot's uid):
  // the number answered 200.
  int bot_signs(int count) {
    int answered = 0;
    for (int i = 0; i < count; ++i) {
      const test::Output out =
          test::run({"/usr/bin/setpriv", std::string("--reuid=") + kBot, std::string("--regid=") + kBot,
                     "--init-groups", "/usr/bin/curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "--unix-socket",
                     daemon_->socket().string(), "--data-binary",
                     R"({"method":"GET","path":"/api/v5/account/balance"})", "http://okx-vault/v1/keys/main/sign"});
      if (out.out == "200") {
        ++answered;
      } else {
        std::cerr << "bot sign " << i << ": " << out.out << ' ' << out.err << '\n';
      }
    }
    return answered;
  }

  test::TempDir dir_;
  std::unique_ptr<test::Daemon> daemon_;
};

// One user gets --max-connections-per-uid of them and a 503 naming that limit for
// every other; meanwhile a bot and root are served, and root, an admin, is not
// held to the per-uid cap.
TEST_F(ConnectionSlotsTest, OneUserGetsItsShareAndNoMore) {
  start(32, 8);
  HeldAs hog(daemon_->socket(), kHog, 40);
  EXPECT_EQ(hog.held(), 8);
  EXPECT_EQ(hog.refused(), 32);
  EXPECT_EQ(hog.other(), 0);
  EXPECT_NE(hog.refusal().find("8"), std::string::npos) << hog.refusal();
  EXPECT_NE(hog.refusal().find("--max-connections-per-uid"), std::string::npos) << hog.refusal();

  EXPECT_EQ(bot_signs(20), 20);
  Connections root;
  root.add(daemon_->socket(), 12);
  EXPECT_EQ(root.open.size(), 12u) << root.refusal;
  EXPECT_EQ(Client(daemon_->socket().string()).status().keys, 1u);
  EXPECT_EQ(hog.release(), 0) << "no connection of the hog was shed: the daemon was never full";
}

// With the per-uid cap above the total, one user fills the daemon. A bot
// then connecting sheds one of its idle connections; root does too, for each of
// a dozen connections; the hog itself gets nothing more.
TEST_F(ConnectionSlotsTest, AtTheLimitTheHeaviestUsersIdleConnectionsGoFirst) {
  start(16, 100);
  HeldAs hog(daemon_->socket(), kHog, 20);
  EXPECT_EQ(hog.held(), 16);
  EXPECT_EQ(hog.refused(), 4);
  EXPECT_NE(hog.refusal().find("connection limit (16"), std::string::npos) << hog.refusal();

  EXPECT_EQ(bot_signs(10), 10);
  Connections root;
  root.add(daemon_->socket(), 12);
  EXPECT_EQ(root.open.size(), 12u) << root.refusal;
  EXPECT_EQ(Client(daemon_->socket().string()).status().keys, 1u);
  HeldAs again(daemon_->socket(), kHog, 8);
  EXPECT_LE(again.held(), 3) << "the hog got back more than the slots others left free";
  EXPECT_GE(again.refused(), 5);

  const passwd* hog_user = ::getpwnam(kHog);
  ASSERT_NE(hog_user, nullptr);
  EXPECT_NE(daemon_->log().find("shedding an idle connection of uid " + std::to_string(hog_user->pw_uid)),
            std::string::npos)
      << daemon_->log();
  EXPECT_GE(hog.release(), 1) << "the daemon closed none of the hog's connections";
}

}  // namespace
}  // namespace okxvault
