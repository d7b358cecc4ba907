// The real daemon under abuse: thousands of held connections, slowloris, oversized
// and garbage requests, floods of chunked framing, a peer that never reads, an
// exhausted address space. It must keep answering a well-behaved client, keep its
// memory bounded, and drop each abuser by the limit or timeout proto/PROTOCOL.md
// documents. The bounds are generous liveness
// bounds, not speed targets; the measured numbers are printed.

#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <gtest/gtest.h>
#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <iostream>
#include <map>
#include <thread>

#include "client/client.hpp"
#include "proto/messages.hpp"
#include "tests/support/process.hpp"
#include "tests/support/reference_sign.hpp"
#include "tests/support/sanitizers.hpp"

namespace okxvault {
namespace {
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using test::Daemon;
using test::TempDir;

constexpr int kHeld = 2000;
constexpr auto kIdleTimeout = 4000ms;
constexpr auto kRequestTimeout = 2000ms;
// Generous: only a wedged daemon misses these.
constexpr auto kLiveness = 5s;
constexpr auto kDropMargin = 5s;

double ms_of(std::chrono::milliseconds d) { return static_cast<double>(d.count()); }
double ms_since(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

// A raw connection to the daemon, for what no real client would send.
class Raw {
 public:
  explicit Raw(const std::filesystem::path& socket) : fd_(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) {
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, socket.c_str(), sizeof addr.sun_path - 1);
    if (fd_ < 0 || ::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
      throw std::runtime_error("connect failed: " + std::string(std::strerror(errno)));
    }
  }
  ~Raw() {
    if (fd_ >= 0) ::close(fd_);
  }
  Raw(Raw&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  Raw(const Raw&) = delete;

  // Sends what it can; the daemon may close mid-way, which is its right.
  void send(std::string_view bytes) {
    while (!bytes.empty()) {
      const ssize_t n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
      if (n <= 0) return;
      bytes.remove_prefix(static_cast<std::size_t>(n));
    }
  }
  // Everything until the daemon closes; "timeout" appended if it had not closed by then.
  std::string read_until_closed(std::chrono::milliseconds limit) {
    std::string out;
    const auto deadline = Clock::now() + limit;
    for (;;) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
      pollfd p{fd_, POLLIN, 0};
      if (left <= 0 || ::poll(&p, 1, static_cast<int>(left)) <= 0) return out + "timeout";
      char buf[4096];
      const ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
      if (n <= 0) return out;
      out.append(buf, static_cast<std::size_t>(n));
    }
  }
  int fd() const { return fd_; }

 private:
  int fd_;
};

long rss_kib(pid_t pid) {
  const std::string status = test::read_file("/proc/" + std::to_string(pid) + "/status");
  const auto at = status.find("VmRSS:");
  return at == std::string::npos ? -1 : std::stol(status.substr(at + 6));
}

std::size_t count(const std::string& text, std::string_view what) {
  std::size_t n = 0;
  for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

// A well-behaved bot: one keep-alive connection, a sign and a status every 50 ms.
class Bot {
 public:
  explicit Bot(const std::filesystem::path& socket)
      : thread_([this, socket] {
          Client c(socket.string(), 30s);
          while (!stop_) {
            const auto start = Clock::now();
            try {
              c.sign("main", {"GET", "/api/v5/account/balance", "", std::nullopt});
              c.status();
              ++answered_;
            } catch (const std::exception& e) {
              ++failed_;
              std::cerr << "bot call failed: " << e.what() << '\n';
            }
            const double ms = ms_since(start);
            if (ms > worst_ms_) worst_ms_ = ms;
            std::this_thread::sleep_for(50ms);
          }
        }) {}
  ~Bot() { stop(); }
  void stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }
  int answered() const { return answered_; }
  int failed() const { return failed_; }
  double worst_ms() const { return worst_ms_; }

 private:
  std::atomic<bool> stop_{false};
  std::atomic<int> answered_{0}, failed_{0};
  std::atomic<double> worst_ms_{0};
  std::thread thread_;
};

constexpr std::string_view kSecret = "9D3F6A1C7E2B48D5";
constexpr std::string_view kPassphrase = "pass-1";

class AbuseTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // Our side holds the connections too: one descriptor each.
    rlimit limit{};
    ASSERT_EQ(::getrlimit(RLIMIT_NOFILE, &limit), 0);
    if (limit.rlim_max < 3 * kHeld) GTEST_SKIP() << "RLIMIT_NOFILE hard limit " << limit.rlim_max << " is too low";
    limit.rlim_cur = limit.rlim_max;
    ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &limit), 0);
    daemon_ = std::make_unique<Daemon>(
        dir_.path(), std::vector<std::string>{"--max-connections", std::to_string(kHeld + 50), "--idle-timeout-ms",
                                              std::to_string(kIdleTimeout.count()), "--request-timeout-ms",
                                              std::to_string(kRequestTimeout.count())});
    Client(daemon_->socket().string())
        .add({"main", "8f2e0a4c-5b1d-4e7f-9a3c", SecretBytes::copy_of(kSecret), SecretBytes::copy_of(kPassphrase)});
  }

  Raw connect() { return Raw(daemon_->socket()); }

  TempDir dir_;
  std::unique_ptr<Daemon> daemon_;
};

TEST_F(AbuseTest, HeldConnectionsAndTheConnectionLimit) {
  Bot bot(daemon_->socket());
  std::this_thread::sleep_for(200ms);
  const long rss_before = rss_kib(daemon_->pid());

  // Up to the limit the connections are held; beyond it each gets 503 and is closed.
  std::vector<Raw> held;
  const auto opened = Clock::now();
  for (int i = 0; i < kHeld; ++i) held.push_back(connect());
  std::vector<Raw> extra;
  for (int i = 0; i < 100; ++i) extra.push_back(connect());
  int refused = 0;
  for (Raw& r : extra) {
    const std::string reply = r.read_until_closed(kLiveness);
    if (reply.starts_with("HTTP/1.1 503") && reply.find("too_many_connections") != std::string::npos) ++refused;
  }
  const long rss_held = rss_kib(daemon_->pid());
  // kHeld + 50 are allowed and the bot holds one: 49 of the 100 fit, 51 do not.
  EXPECT_GE(refused, 45);
  EXPECT_LE(refused, 55);

  // Every held connection, idle since it opened, is closed by the idle timeout.
  int closed = 0;
  for (Raw& r : held) closed += r.read_until_closed(kIdleTimeout + kDropMargin) == "";
  const double drop_ms = ms_since(opened);
  held.clear();
  std::this_thread::sleep_for(200ms);
  const long rss_after = rss_kib(daemon_->pid());
  bot.stop();

  std::cout << "held " << kHeld << " connections; " << refused << " of 100 more refused with 503; " << closed
            << " closed by the idle timeout within " << drop_ms << " ms of opening\n"
            << "daemon RSS: " << rss_before << " KiB before, " << rss_held << " KiB holding them, " << rss_after
            << " KiB after\n"
            << "bot: " << bot.answered() << " answered, " << bot.failed() << " failed, worst " << bot.worst_ms()
            << " ms\n";
  EXPECT_EQ(closed, kHeld);
  EXPECT_GT(bot.answered(), 0);
  EXPECT_EQ(bot.failed(), 0);
  EXPECT_LT(bot.worst_ms(), ms_of(kLiveness));
  EXPECT_LT(rss_held - rss_before, 256 * 1024) << "more than 128 KiB per held connection";
  EXPECT_LT(rss_after - rss_before, 128 * 1024);
}

TEST_F(AbuseTest, SlowAndMalformedClientsAreDropped) {
  Bot bot(daemon_->socket());
  std::this_thread::sleep_for(200ms);
  const long rss_before = rss_kib(daemon_->pid());
  const std::string status = "GET /v1/status HTTP/1.1\r\nHost: x\r\n\r\n";

  // Slowloris: a header byte a second never completes a request.
  const auto slow_started = Clock::now();
  double slow_dropped_ms = -1;
  std::thread slowloris([&] {
    Raw r = connect();
    const std::string request = "GET /v1/status HTTP/1.1\r\nX-Slow: " + std::string(100, 'a');
    for (char byte : request) {
      r.send(std::string_view(&byte, 1));
      pollfd p{r.fd(), POLLIN, 0};
      if (::poll(&p, 1, 1000) > 0) break;  // the daemon closed it (or, wrongly, answered)
    }
    if (r.read_until_closed(kDropMargin) == "") slow_dropped_ms = ms_since(slow_started);
  });

  // A reader that never reads: the daemon's writes stall and time out.
  const auto stall_started = Clock::now();
  double stalled_dropped_ms = -1;
  std::thread never_reads([&] {
    Raw r = connect();
    std::string many;
    for (int i = 0; i < 20000; ++i) many += "GET /v1/keys HTTP/1.1\r\nHost: x\r\n\r\n";
    r.send(many);  // blocks once both socket buffers are full, until the daemon gives up
    std::this_thread::sleep_for(kRequestTimeout);
    pollfd p{r.fd(), POLLIN, 0};
    // Its replies are waiting unread; the daemon's end is closed behind them.
    std::string rest;
    while (::poll(&p, 1, static_cast<int>(std::chrono::milliseconds(kDropMargin).count())) > 0) {
      char buf[65536];
      const ssize_t n = ::recv(r.fd(), buf, sizeof buf, 0);
      if (n <= 0) {
        if (n == 0) stalled_dropped_ms = ms_since(stall_started);
        break;
      }
    }
  });

  struct Case {
    std::string name, request, expect;
  };
  const std::vector<Case> cases = {
      {"headers over 8 KiB", "GET /v1/status HTTP/1.1\r\nX-Big: " + std::string(9000, 'a') + "\r\n\r\n", "431 "},
      {"many small headers over 64 KiB",
       [] {
         std::string r = "GET /v1/status HTTP/1.1\r\n";
         for (int i = 0; i < 6000; ++i) r += "X-H" + std::to_string(i) + ": v\r\n";
         return r + "\r\n";
       }(),
       "431 "},
      {"declared body over 64 KiB", "POST /v1/keys HTTP/1.1\r\nContent-Length: 70000\r\n\r\n" + std::string(70000, '{'),
       "413 "},
      {"chunked body",
       [] {
         std::string r = "POST /v1/keys HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n";
         for (int i = 0; i < 20; ++i) r += "1000\r\n" + std::string(0x1000, 'x') + "\r\n";
         return r + "0\r\n\r\n";
       }(),
       "400 "},
      {"any transfer coding", "POST /v1/keys HTTP/1.1\r\ntransfer-encoding: identity\r\nContent-Length: 2\r\n\r\n{}",
       "400 "},
      {"absurd content length", "POST /v1/keys HTTP/1.1\r\nContent-Length: 99999999999999999999999\r\n\r\n", "400 "},
      {"negative content length", "POST /v1/keys HTTP/1.1\r\nContent-Length: -1\r\n\r\n", "400 "},
      {"not HTTP", std::string("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", 11) + "\r\n\r\n", "400 "},
      {"header without a colon", "GET /v1/status HTTP/1.1\r\nNoColonHere\r\n\r\n", "400 "},
      {"NUL in the request line", std::string("GET /v1/st\0tus HTTP/1.1\r\n\r\n", 27), "400 "},
      {"a request, then garbage", status + "\xff\xfe garbage \x01\x02\r\n\r\n", "400 "},
  };
  for (const Case& c : cases) {
    Raw r = connect();
    r.send(c.request);
    const std::string reply = r.read_until_closed(kLiveness);
    EXPECT_FALSE(reply.ends_with("timeout")) << c.name << ": the connection was not closed";
    // The answer to the garbage is the last one on the connection.
    const auto last = reply.rfind("HTTP/1.1 ");
    ASSERT_NE(last, std::string::npos) << c.name << ": no answer: " << reply;
    EXPECT_EQ(reply.substr(last + 9, 4), c.expect) << c.name << ": " << reply;
    EXPECT_NE(reply.find("\"error\""), std::string::npos) << c.name;
  }
  {
    Raw r = connect();  // the well-formed request before the garbage was answered
    r.send(status + "\x01\x02\x03\r\n\r\n");
    const std::string reply = r.read_until_closed(kLiveness);
    EXPECT_TRUE(reply.starts_with("HTTP/1.1 200 ")) << reply;
    EXPECT_EQ(count(reply, "HTTP/1.1 "), 2u) << reply;
  }

  // The header limit counts every byte before the body, however many reads
  // brought them: ~9 KB of header, half of it in one write and the rest field by
  // field, is refused (Beast's own limit applies to what one read left
  // unparsed), and a request just under 8 KiB sent the same way is answered.
  const auto trickled = [&](std::size_t header_bytes) {
    std::string first_half = "GET /v1/status HTTP/1.1\r\n";
    std::vector<std::string> rest;
    std::size_t size = first_half.size() + 2;  // the blank line that ends the header
    for (int i = 0; size + 41 <= header_bytes; ++i) {
      std::string field = "X-Field-" + std::to_string(10000 + i) + ": " + std::string(14, 'v') + "\r\n";
      size += field.size();
      if (size < header_bytes / 2) {
        first_half += field;
      } else {
        rest.push_back(std::move(field));
      }
    }
    rest.push_back("X-Pad: " + std::string(header_bytes - size - 9, 'p') + "\r\n\r\n");
    Raw r = connect();
    r.send(first_half);
    for (const std::string& field : rest) {
      std::this_thread::sleep_for(1ms);  // each in a read of its own
      r.send(field);
    }
    ::shutdown(r.fd(), SHUT_WR);
    return r.read_until_closed(kLiveness);
  };
  const std::string over = trickled(9000);
  EXPECT_TRUE(over.starts_with("HTTP/1.1 431 ")) << over;
  EXPECT_NE(over.find("headers_too_large"), std::string::npos) << over;
  const std::string under = trickled(8190);
  EXPECT_TRUE(under.starts_with("HTTP/1.1 200 ")) << under;
  EXPECT_EQ(count(under, "HTTP/1.1 "), 1u) << under;

  slowloris.join();
  never_reads.join();
  const long rss_after = rss_kib(daemon_->pid());
  bot.stop();
  std::cout << "slowloris dropped after " << slow_dropped_ms << " ms; the peer that never reads dropped after "
            << stalled_dropped_ms << " ms (request timeout " << kRequestTimeout.count() << " ms)\n"
            << "daemon RSS: " << rss_before << " KiB before, " << rss_after << " KiB after\n"
            << "bot: " << bot.answered() << " answered, " << bot.failed() << " failed, worst " << bot.worst_ms()
            << " ms\n";
  const double limit_ms = ms_of(kRequestTimeout + kDropMargin);
  EXPECT_GT(slow_dropped_ms, 0) << "the slowloris connection was never closed";
  EXPECT_LT(slow_dropped_ms, limit_ms);
  EXPECT_GT(stalled_dropped_ms, 0) << "the connection that never reads was never closed";
  EXPECT_LT(stalled_dropped_ms, limit_ms + ms_of(kRequestTimeout));
  EXPECT_GT(bot.answered(), 0);
  EXPECT_EQ(bot.failed(), 0);
  EXPECT_LT(bot.worst_ms(), ms_of(kLiveness));
  EXPECT_LT(rss_after - rss_before, 128 * 1024);
}

// VmHWM, the peak resident set since the last reset_peak_rss().
long peak_rss_kib(pid_t pid) {
  const std::string status = test::read_file("/proc/" + std::to_string(pid) + "/status");
  const auto at = status.find("VmHWM:");
  return at == std::string::npos ? -1 : std::stol(status.substr(at + 6));
}

void reset_peak_rss(pid_t pid) { test::write_file("/proc/" + std::to_string(pid) + "/clear_refs", "5"); }

// A chunked body's framing has no length the daemon could bound: an unterminated
// chunk extension or trailer would grow its buffer with every byte. A request
// carrying Transfer-Encoding is refused once its header is read, whatever
// follows; the daemon's peak memory stays put and others are served meanwhile.
TEST_F(AbuseTest, TransferEncodingIsRefusedBeforeItsBody) {
  constexpr std::size_t kFlood = 48 << 20;
  constexpr long kBoundKib = 8 * 1024;
  Bot bot(daemon_->socket());
  std::this_thread::sleep_for(200ms);
  const std::string head = "POST /v1/keys HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n";
  const std::vector<std::pair<std::string, std::string>> attacks = {
      {"unterminated chunk extension", head + "1;ext="},
      {"unterminated trailer", head + "0\r\nX-Trailer: "},
      {"endless chunk size", head + "0000"},
  };
  for (const auto& [name, start] : attacks) {
    SCOPED_TRACE(name);
    const long rss_before = rss_kib(daemon_->pid());
    reset_peak_rss(daemon_->pid());
    Raw r = connect();
    // Named, not the binding itself: clang before 16 cannot capture a structured binding.
    std::thread flood([&r, &start = start] {
      r.send(start);
      const std::string filler(1 << 16, start.back() == '0' ? '0' : 'a');
      for (std::size_t sent = 0; sent < kFlood; sent += filler.size()) {
        if (::send(r.fd(), filler.data(), filler.size(), MSG_NOSIGNAL) <= 0) return;  // the daemon closed it
      }
    });
    const std::string reply = r.read_until_closed(kRequestTimeout + kDropMargin);
    flood.join();
    const long peak = peak_rss_kib(daemon_->pid());
    std::cout << name << ": daemon RSS " << rss_before << " KiB before, peak " << peak << " KiB\n";
    EXPECT_TRUE(reply.starts_with("HTTP/1.1 400 ")) << reply.substr(0, 200);
    EXPECT_NE(reply.find("Content-Length"), std::string::npos) << reply.substr(0, 200);
    EXPECT_FALSE(reply.ends_with("timeout")) << "the connection was not closed";
    EXPECT_LT(peak - rss_before, kBoundKib);
  }
  bot.stop();
  EXPECT_GT(bot.answered(), 0);
  EXPECT_EQ(bot.failed(), 0);
}

long status_field_kib(pid_t pid, std::string_view field) {
  const std::string status = test::read_file("/proc/" + std::to_string(pid) + "/status");
  const auto at = status.find(field);
  return at == std::string::npos ? -1 : std::stol(status.substr(at + field.size()));
}

// The daemon under an address-space limit runs out of memory: hundreds of
// connections each make it reserve a 64 KiB body and send only its first byte.
// Each connection whose step fails to allocate is closed alone; the daemon lives
// on and serves again once memory is free. (Under AddressSanitizer, whose shadow
// memory needs terabytes of address space, no such limit can be set; nor under
// ThreadSanitizer, for the same reason.)
TEST(AbuseUnderMemoryLimit, AnAllocationFailureClosesOnlyItsConnection) {
  if (test::kAddressSanitizer) GTEST_SKIP() << "an address-space limit cannot work under AddressSanitizer";
  if (test::kThreadSanitizer) GTEST_SKIP() << "an address-space limit cannot work under ThreadSanitizer";
  if (::geteuid() != 0) GTEST_SKIP() << "needs root: sets another process's RLIMIT_AS";
  constexpr int kConnections = 1500;
  rlimit files{};
  ASSERT_EQ(::getrlimit(RLIMIT_NOFILE, &files), 0);
  if (files.rlim_max < 2 * kConnections) GTEST_SKIP() << "RLIMIT_NOFILE hard limit " << files.rlim_max << " is too low";
  files.rlim_cur = files.rlim_max;
  ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &files), 0);
  TempDir dir;
  Daemon daemon(dir.path(), {"--max-connections", std::to_string(2 * kConnections)});
  Client(daemon.socket().string()).status();
  const long size_kib = status_field_kib(daemon.pid(), "VmSize:");
  ASSERT_GT(size_kib, 0);
  const rlimit tight{static_cast<rlim_t>(size_kib + 16 * 1024) * 1024, RLIM_INFINITY};
  ASSERT_EQ(::prlimit(daemon.pid(), RLIMIT_AS, &tight, nullptr), 0) << std::strerror(errno);

  std::vector<Raw> hogs;
  const std::string partial = "POST /v1/keys HTTP/1.1\r\nHost: x\r\nContent-Length: 65536\r\n\r\n{";
  for (int i = 0; i < kConnections; ++i) {
    hogs.emplace_back(daemon.socket());
    hogs.back().send(partial);
  }
  // Its first failed allocation is logged; wait for it.
  const auto until = Clock::now() + 20s;
  while (daemon.log().find("std::bad_alloc") == std::string::npos && Clock::now() < until) {
    std::this_thread::sleep_for(50ms);
  }
  const std::string log = daemon.log();
  EXPECT_NE(log.find("std::bad_alloc"), std::string::npos) << "no allocation failed: the limit did not bite";
  std::cout << "address space " << status_field_kib(daemon.pid(), "VmSize:") << " KiB under a limit of "
            << tight.rlim_cur / 1024 << " KiB; " << count(log, "std::bad_alloc") << " lines about std::bad_alloc\n";
  int closed = 0;
  for (Raw& hog : hogs) {
    pollfd p{hog.fd(), POLLIN, 0};
    closed += ::poll(&p, 1, 0) > 0;
  }
  hogs.clear();

  // Serving again once the hogs are gone (their closes reach the daemon in order,
  // so the first calls may still fail for want of memory).
  bool served = false;
  for (const auto deadline = Clock::now() + 20s; !served && Clock::now() < deadline;) {
    try {
      served = Client(daemon.socket().string()).status().keys == 0;
    } catch (const std::exception& e) {
      std::this_thread::sleep_for(100ms);
    }
  }
  std::cout << closed << " of " << kConnections << " connections closed by the daemon\n";
  EXPECT_TRUE(served) << "the daemon stopped serving:\n" << daemon.log().substr(0, 4000);
  EXPECT_GT(closed, 0);
  EXPECT_LT(closed, kConnections) << "only the connections that could not allocate are closed";
  EXPECT_EQ(daemon.stop(), 0) << "the daemon did not stop cleanly";
}

// The replies on a raw connection, read in order as a client parses them.
class Replies {
 public:
  explicit Replies(const Raw& connection)
      : socket_(io_, boost::asio::local::stream_protocol(), ::dup(connection.fd())) {}
  boost::beast::http::response<boost::beast::http::string_body> next() {
    boost::beast::http::response_parser<boost::beast::http::string_body> parser;
    parser.body_limit(1 << 20);
    boost::beast::http::read(socket_, buffer_, parser);
    return parser.release();
  }

 private:
  boost::asio::io_context io_;
  boost::asio::local::stream_protocol::socket socket_;
  boost::beast::flat_buffer buffer_;
};

// Requests may come many to a read or one over many reads: each gets its own
// reply, in order and intact, also when the replies fill the socket and wait for
// the peer to read them.
TEST_F(AbuseTest, PipelinedAndSplitRequestsAreAnsweredInOrder) {
  const auto path = [](int i) { return "/api/v5/account/balance?ccy=BTC&n=" + std::to_string(i); };
  const auto sign_request = [&](int i) {
    const std::string body = R"({"method":"GET","path":")" + path(i) + R"("})";
    return "POST /v1/keys/main/sign HTTP/1.1\r\nHost: x\r\nContent-Length: " + std::to_string(body.size()) +
           "\r\n\r\n" + body;
  };
  Raw r = connect();
  Replies replies(r);
  int answered = 0;
  const auto expect_reply = [&](int i) {
    SCOPED_TRACE("request " + std::to_string(i));
    const auto reply = replies.next();
    ASSERT_EQ(reply.result_int(), 200u) << reply.body();
    const proto::SignReply sign = proto::decode_sign_reply(reply.body());
    const std::map<std::string, std::string> headers(sign.headers.begin(), sign.headers.end());
    EXPECT_EQ(headers.at("OK-ACCESS-SIGN"), test::okx_signature(kSecret, sign.timestamp + "GET" + path(i)));
    EXPECT_EQ(headers.at("OK-ACCESS-PASSPHRASE"), kPassphrase);
    ++answered;
  };

  // Sent in one go, with nothing read for a while: the replies, about 1 MB, wait
  // in both socket buffers and the rest are written as room appears.
  constexpr int kPipelined = 3000;
  std::string pipelined;
  for (int i = 0; i < kPipelined; ++i) pipelined += sign_request(i);
  std::thread sender([&] { r.send(pipelined); });
  std::this_thread::sleep_for(300ms);
  for (int i = 0; i < kPipelined; ++i) expect_reply(i);
  sender.join();

  // Then one request a byte at a time, and one in two halves split inside its body.
  for (char byte : sign_request(kPipelined)) {
    r.send(std::string_view(&byte, 1));
    std::this_thread::sleep_for(100us);
  }
  expect_reply(kPipelined);
  const std::string halves = sign_request(kPipelined + 1);
  r.send(halves.substr(0, halves.size() - 10));
  std::this_thread::sleep_for(20ms);
  r.send(halves.substr(halves.size() - 10));
  expect_reply(kPipelined + 1);
  EXPECT_EQ(answered, kPipelined + 2);
}

// A reply larger than the socket takes at once leaves in several writes, the
// later ones as the peer reads: it arrives whole, and the next one after it.
TEST_F(AbuseTest, RepliesLargerThanTheSocketBufferArriveWhole) {
  std::string rules;
  for (int i = 0; i < 1200; ++i) {
    rules += std::string(i == 0 ? "" : ",") + "\"GET /api/v5/market/history-index-candles/" +
             std::to_string(100000 + i) + "\"";
  }
  const std::string grants = R"({"grants":[{"user":"root","allow":[)" + rules + "]}]}";
  std::string requests = "PUT /v1/keys/main/grants HTTP/1.1\r\nHost: x\r\nContent-Length: " +
                         std::to_string(grants.size()) + "\r\n\r\n" + grants;
  constexpr int kReads = 40;
  for (int i = 0; i < kReads; ++i) requests += "GET /v1/keys/main/grants HTTP/1.1\r\nHost: x\r\n\r\n";
  Raw r = connect();
  Replies replies(r);
  std::thread sender([&] { r.send(requests); });
  std::this_thread::sleep_for(300ms);  // about 2 MB of replies pile up
  const auto set = replies.next();
  ASSERT_EQ(set.result_int(), 200u) << set.body();
  EXPECT_GT(set.body().size(), 50'000u);
  for (int i = 0; i < kReads; ++i) {
    const auto read = replies.next();
    ASSERT_EQ(read.result_int(), 200u) << "read " << i;
    EXPECT_TRUE(read.body() == set.body()) << "read " << i << " differs: " << read.body().size() << " bytes";
  }
  sender.join();
}

}  // namespace
}  // namespace okxvault
