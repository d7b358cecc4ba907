// okxv-load: closed-loop HTTP load over a Unix socket, the way bots use the vault.
// N keep-alive connections, one thread each, every connection sending one request
// and waiting for its reply before the next, for D seconds after a warm-up. The
// requests are built once; the loop is a write() and read()s, so what is measured
// is the server. Its own CPU per request is reported, so that the reader can tell
// how much of the (shared) machine the load itself took.
//
//   okxv-load --socket S [--connections 8] [--duration 5] [--warmup 1]
//             [--keys 1] [--order] [--json]
//   okxv-load --socket S --wait MS    exits 0 as soon as S accepts, 1 after MS
//   okxv-load --socket S --count N [--order]   exactly N signs, one after another on one
//             connection, then exits (1 if any failed): scripts/bench.sh
//             instructions counts the daemon's instructions around it
// Request: POST /v1/keys/<key>/sign with a GET-balance sign body (with --order, a
// limit order's: POST /api/v5/trade/order and its JSON body); with --keys N the
// key is k00000..k(N-1) (bench_store.hpp), each connection cycling through them
// from its own offset.

#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "tests/bench/bench_store.hpp"

namespace {

using Clock = std::chrono::steady_clock;

struct Options {
  std::string socket;
  unsigned connections = 8;
  double duration = 5;
  double warmup = 1;
  unsigned keys = 1;
  bool json = false;
  bool order = false;  // sign a limit order, not a balance read
  double wait_ms = 0;
  unsigned long count = 0;
};

[[noreturn]] void usage(const std::string& why) {
  std::fprintf(
      stderr,
      "okxv-load: %s\nusage: okxv-load --socket PATH [--connections N] [--duration S] "
      "[--warmup S] [--keys N] [--order] [--json] | --socket PATH --wait MS | --socket PATH --count N [--order]\n",
      why.c_str());
  std::exit(2);
}

Options parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg == "--json") {
      o.json = true;
      continue;
    }
    if (arg == "--order") {
      o.order = true;
      continue;
    }
    if (i + 1 >= argc) usage("missing value for " + std::string(arg));
    const char* value = argv[++i];
    if (arg == "--socket")
      o.socket = value;
    else if (arg == "--connections")
      o.connections = static_cast<unsigned>(std::stoul(value));
    else if (arg == "--duration")
      o.duration = std::stod(value);
    else if (arg == "--warmup")
      o.warmup = std::stod(value);
    else if (arg == "--wait")
      o.wait_ms = std::stod(value);
    else if (arg == "--keys")
      o.keys = static_cast<unsigned>(std::stoul(value));
    else if (arg == "--count")
      o.count = std::stoul(value);
    else
      usage("unknown option " + std::string(arg));
  }
  if (o.socket.empty()) usage("--socket is required");
  if (o.connections == 0 || o.keys == 0 || o.duration <= 0) usage("counts and duration must be positive");
  return o;
}

// A balance read, or with `order` a limit order (what a grant's trading limits read).
std::string sign_request(const std::string& key, bool order) {
  const std::string body =
      order ? R"({"method":"POST","path":"/api/v5/trade/order","body":"{\"instId\":\"BTC-USDT\",\"tdMode\":\"cash\",)"
              R"(\"side\":\"buy\",\"ordType\":\"limit\",\"sz\":\"0.01\",\"px\":\"50000\",\"clOrdId\":\"b1\"}"})"
            : R"({"method":"GET","path":"/api/v5/account/balance?ccy=BTC"})";
  return "POST /v1/keys/" + key +
         "/sign HTTP/1.1\r\nHost: okx-vault\r\nContent-Type: application/json\r\n"
         "Content-Length: " +
         std::to_string(body.size()) + "\r\n\r\n" + body;
}

int connect_unix(const std::string& path) {
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  if (fd < 0 || path.size() >= sizeof address.sun_path) throw std::runtime_error("bad socket path " + path);
  std::memcpy(address.sun_path, path.c_str(), path.size() + 1);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
    ::close(fd);
    throw std::runtime_error("cannot connect to " + path + ": " + std::strerror(errno));
  }
  return fd;
}

// One connection's life: requests in a closed loop; latencies of the measured
// phase in nanoseconds.
struct Worker {
  std::vector<std::string> requests;
  std::vector<std::uint32_t> latencies;
  std::uint64_t errors = 0;
  std::string failure;
  std::string buffer = std::string(64 * 1024, '\0');

  // Reads one whole response; returns its status code, 0 if the peer closed.
  int read_response(int fd) {
    std::size_t have = 0;
    for (;;) {
      const ssize_t n = ::read(fd, buffer.data() + have, buffer.size() - have);
      if (n <= 0) return 0;
      have += static_cast<std::size_t>(n);
      const std::string_view text(buffer.data(), have);
      const std::size_t end = text.find("\r\n\r\n");
      if (end == std::string_view::npos) continue;
      const std::size_t length_at = text.find("Content-Length: ");
      const std::size_t length = length_at < end ? std::strtoul(buffer.data() + length_at + 16, nullptr, 10) : 0;
      if (have < end + 4 + length) continue;
      return std::atoi(buffer.data() + 9);  // "HTTP/1.1 200"
    }
  }

  void run(const std::string& socket, Clock::time_point start, Clock::time_point stop, std::size_t offset) {
    int fd = -1;
    try {
      fd = connect_unix(socket);
    } catch (const std::exception& e) {
      failure = e.what();
      return;
    }
    latencies.reserve(1 << 20);
    for (std::size_t i = offset;; ++i) {
      const std::string& request = requests[i % requests.size()];
      const Clock::time_point sent = Clock::now();
      if (sent >= stop) break;
      if (::write(fd, request.data(), request.size()) != static_cast<ssize_t>(request.size())) {
        failure = "write failed";
        break;
      }
      const int status = read_response(fd);
      if (status == 0) {
        failure = "connection closed by the server";
        break;
      }
      const Clock::time_point received = Clock::now();
      if (sent < start) continue;
      if (status != 200) ++errors;
      latencies.push_back(static_cast<std::uint32_t>(
          std::min<std::int64_t>(std::chrono::nanoseconds(received - sent).count(), UINT32_MAX)));
    }
    ::close(fd);
  }
};

double cpu_seconds() {
  rusage usage{};
  ::getrusage(RUSAGE_SELF, &usage);
  return static_cast<double>(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
         static_cast<double>(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
}

}  // namespace

// Polls every 100 us: the benchmark times the daemon's start with it.
int wait_for(const std::string& socket, double ms) {
  const Clock::time_point deadline = Clock::now() + std::chrono::microseconds(static_cast<std::int64_t>(ms * 1000));
  while (Clock::now() < deadline) {
    try {
      ::close(connect_unix(socket));
      return 0;
    } catch (const std::runtime_error&) {
      std::this_thread::sleep_for(std::chrono::microseconds(100));
    }
  }
  std::fprintf(stderr, "okxv-load: nothing accepts on %s after %.0f ms\n", socket.c_str(), ms);
  return 1;
}

// Exactly `count` requests in sequence on one connection and nothing else, so
// that the server's instructions around it are its cost of `count` signs.
int send_count(const std::string& socket, const std::string& request, unsigned long count) {
  Worker worker;
  const int fd = connect_unix(socket);
  for (unsigned long i = 0; i < count; ++i) {
    if (::write(fd, request.data(), request.size()) != static_cast<ssize_t>(request.size())) {
      std::fprintf(stderr, "okxv-load: write failed\n");
      return 1;
    }
    const int status = worker.read_response(fd);
    if (status != 200) {
      std::fprintf(stderr, "okxv-load: request %lu answered %d\n", i + 1, status);
      return 1;
    }
  }
  ::close(fd);
  return 0;
}

int main(int argc, char** argv) {
  const Options o = parse(argc, argv);
  if (o.wait_ms > 0) return wait_for(o.socket, o.wait_ms);
  if (o.count > 0) return send_count(o.socket, sign_request(okxvault::bench::key_name(0), o.order), o.count);
  std::vector<std::string> requests;
  for (unsigned k = 0; k < o.keys; ++k) requests.push_back(sign_request(okxvault::bench::key_name(k), o.order));

  std::vector<Worker> workers(o.connections);
  const auto to_duration = [](double s) {
    return std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(s));
  };
  const Clock::time_point begin = Clock::now() + std::chrono::milliseconds(50);
  const Clock::time_point start = begin + to_duration(o.warmup);
  const Clock::time_point stop = start + to_duration(o.duration);
  std::vector<std::thread> threads;
  for (unsigned c = 0; c < o.connections; ++c) {
    workers[c].requests = requests;
    threads.emplace_back([&, c] {
      std::this_thread::sleep_until(begin);
      workers[c].run(o.socket, start, stop, static_cast<std::size_t>(c) * requests.size() / o.connections);
    });
  }
  std::this_thread::sleep_until(start);
  const double cpu_start = cpu_seconds();
  for (auto& thread : threads) thread.join();
  const double cpu = cpu_seconds() - cpu_start;

  std::vector<std::uint32_t> all;
  std::uint64_t errors = 0;
  for (const Worker& w : workers) {
    if (!w.failure.empty()) {
      std::fprintf(stderr, "okxv-load: %s\n", w.failure.c_str());
      return 1;
    }
    all.insert(all.end(), w.latencies.begin(), w.latencies.end());
    errors += w.errors;
  }
  if (all.empty()) {
    std::fprintf(stderr, "okxv-load: no request completed\n");
    return 1;
  }
  std::sort(all.begin(), all.end());
  const auto percentile_us = [&](double p) {
    const std::size_t i = std::min(all.size() - 1, static_cast<std::size_t>(p * static_cast<double>(all.size())));
    return static_cast<double>(all[i]) / 1000.0;
  };
  const double rate = static_cast<double>(all.size()) / o.duration;
  const double load_cpu_us = cpu * 1e6 / static_cast<double>(all.size());
  if (o.json) {
    std::printf(
        "{\"connections\":%u,\"keys\":%u,\"seconds\":%.3f,\"requests\":%zu,\"errors\":%llu,"
        "\"rps\":%.1f,\"p50_us\":%.1f,\"p99_us\":%.1f,\"p999_us\":%.1f,\"max_us\":%.1f,"
        "\"load_cpu_us_per_request\":%.2f}\n",
        o.connections, o.keys, o.duration, all.size(), static_cast<unsigned long long>(errors), rate,
        percentile_us(0.50), percentile_us(0.99), percentile_us(0.999), percentile_us(1.0), load_cpu_us);
  } else {
    std::printf(
        "%u connections, %u keys, %.1f s: %zu requests (%llu errors), %.0f req/s\n"
        "latency us: p50 %.1f  p99 %.1f  p99.9 %.1f  max %.1f\n"
        "load generator CPU: %.2f us per request\n",
        o.connections, o.keys, o.duration, all.size(), static_cast<unsigned long long>(errors), rate,
        percentile_us(0.50), percentile_us(0.99), percentile_us(0.999), percentile_us(1.0), load_cpu_us);
  }
  return 0;  // errors are in the report; the caller judges them
}
