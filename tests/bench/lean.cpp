// okxv-lean: the lean load program. The same closed loop, CLI and --json fields
// as okxv-load (tests/bench/load.cpp), with as little user-space work as a
// client can do: a loop per connection (one thread each) over a raw blocking
// Unix socket, the request bytes built once, each reply read only far enough to
// find its end (the header's end and Content-Length), no per-request
// allocation, one clock read per request, each latency counted into a fixed
// histogram. A request's latency is from the clock read after the previous
// reply (or the connection's start) to the one after its own reply: the
// client's few instructions between a reply and the next write are in it.
// Its CPU per request is still mostly the kernel's (a write, a read that
// sleeps until the reply, the wake-up), about okxv-load's: see README.md.
//
//   okxv-lean --socket S [--connections 8] [--duration 5] [--warmup 1]
//             [--keys 1] [--order] [--json]
//   okxv-lean --socket S --wait MS
//   okxv-lean --socket S --count N [--order]
// as okxv-load. The histogram has 128 buckets per power of two of nanoseconds,
// so a percentile is within 0.4% (it reports the bucket's middle); the
// maximum is exact.

#include <pthread.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace {

constexpr int kSubBits = 7;                                     // 128 buckets per power of two
constexpr int kBuckets = (32 - kSubBits + 1) << kSubBits;       // up to 2^32 ns
constexpr std::uint64_t kMaxNs = (std::uint64_t{1} << 32) - 1;  // latencies above count as this
constexpr std::size_t kMaxRequest = 1024;
constexpr std::size_t kBufferBytes = 64 * 1024;

struct Options {
  const char* socket = nullptr;
  unsigned connections = 8;
  double duration = 5;
  double warmup = 1;
  unsigned keys = 1;
  bool json = false;
  bool order = false;
  double wait_ms = 0;
  unsigned long count = 0;
};

struct Request {
  char bytes[kMaxRequest];
  std::size_t size;
};

struct Worker {
  pthread_t thread;
  const Options* options;
  const Request* requests;
  unsigned request_count;
  unsigned offset;
  std::uint64_t begin_ns, start_ns, stop_ns;
  std::uint64_t completed;
  std::uint64_t errors;
  std::uint64_t max_ns;
  const char* failure;
  std::uint64_t histogram[kBuckets];
  char buffer[kBufferBytes];
};

[[noreturn]] void usage(const char* why) {
  std::fprintf(stderr,
               "okxv-lean: %s\nusage: okxv-lean --socket PATH [--connections N] [--duration S] [--warmup S] "
               "[--keys N] [--order] [--json] | --socket PATH --wait MS | --socket PATH --count N [--order]\n",
               why);
  std::exit(2);
}

Options parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const char* arg = argv[i];
    if (std::strcmp(arg, "--json") == 0) {
      o.json = true;
      continue;
    }
    if (std::strcmp(arg, "--order") == 0) {
      o.order = true;
      continue;
    }
    if (i + 1 >= argc) usage("an option is missing its value");
    const char* value = argv[++i];
    if (std::strcmp(arg, "--socket") == 0)
      o.socket = value;
    else if (std::strcmp(arg, "--connections") == 0)
      o.connections = static_cast<unsigned>(std::strtoul(value, nullptr, 10));
    else if (std::strcmp(arg, "--duration") == 0)
      o.duration = std::strtod(value, nullptr);
    else if (std::strcmp(arg, "--warmup") == 0)
      o.warmup = std::strtod(value, nullptr);
    else if (std::strcmp(arg, "--wait") == 0)
      o.wait_ms = std::strtod(value, nullptr);
    else if (std::strcmp(arg, "--keys") == 0)
      o.keys = static_cast<unsigned>(std::strtoul(value, nullptr, 10));
    else if (std::strcmp(arg, "--count") == 0)
      o.count = std::strtoul(value, nullptr, 10);
    else
      usage("unknown option");
  }
  if (o.socket == nullptr) usage("--socket is required");
  if (o.connections == 0 || o.keys == 0 || o.duration <= 0) usage("counts and duration must be positive");
  return o;
}

std::uint64_t now_ns() {
  timespec t{};
  clock_gettime(CLOCK_MONOTONIC, &t);
  return static_cast<std::uint64_t>(t.tv_sec) * 1000000000u + static_cast<std::uint64_t>(t.tv_nsec);
}

void sleep_until_ns(std::uint64_t when) {
  timespec t{};
  t.tv_sec = static_cast<time_t>(when / 1000000000u);
  t.tv_nsec = static_cast<long>(when % 1000000000u);
  while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &t, nullptr) == EINTR) {
  }
}

// The same bytes as okxv-load's request for key k<index> (bench_store.hpp's names).
void build_request(Request& r, unsigned index, bool order) {
  const char* body =
      order ? R"({"method":"POST","path":"/api/v5/trade/order","body":"{\"instId\":\"BTC-USDT\",\"tdMode\":\"cash\",)"
              R"(\"side\":\"buy\",\"ordType\":\"limit\",\"sz\":\"0.01\",\"px\":\"50000\",\"clOrdId\":\"b1\"}"})"
            : R"({"method":"GET","path":"/api/v5/account/balance?ccy=BTC"})";
  const int n = std::snprintf(r.bytes, sizeof r.bytes,
                              "POST /v1/keys/k%05u/sign HTTP/1.1\r\nHost: okx-vault\r\nContent-Type: "
                              "application/json\r\nContent-Length: %zu\r\n\r\n%s",
                              index, std::strlen(body), body);
  if (n <= 0 || static_cast<std::size_t>(n) >= sizeof r.bytes) usage("request too long");
  r.size = static_cast<std::size_t>(n);
}

int connect_unix(const char* path) {
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  if (std::strlen(path) >= sizeof address.sun_path) return -1;
  std::strcpy(address.sun_path, path);
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

bool write_all(int fd, const char* bytes, std::size_t size) {
  while (size > 0) {
    const ssize_t n = ::write(fd, bytes, size);
    if (n <= 0) return false;
    bytes += n;
    size -= static_cast<std::size_t>(n);
  }
  return true;
}

// Reads one whole response into buffer; its status code, 0 if the peer closed
// or the reply does not fit.
int read_response(int fd, char* buffer) {
  std::size_t have = 0;
  std::size_t end = 0;  // where the body starts, once the header's end is found
  std::size_t length = 0;
  for (;;) {
    const ssize_t n = ::read(fd, buffer + have, kBufferBytes - have);
    if (n <= 0) return 0;
    const std::size_t scan_from = have >= 3 ? have - 3 : 0;
    have += static_cast<std::size_t>(n);
    if (end == 0) {
      const void* at = memmem(buffer + scan_from, have - scan_from, "\r\n\r\n", 4);
      if (at == nullptr) {
        if (have == kBufferBytes) return 0;
        continue;
      }
      end = static_cast<std::size_t>(static_cast<const char*>(at) - buffer) + 4;
      const void* field = memmem(buffer, end, "Content-Length: ", 16);
      if (field != nullptr) length = std::strtoul(static_cast<const char*>(field) + 16, nullptr, 10);
      if (end + length > kBufferBytes) return 0;
    }
    if (have >= end + length) return (buffer[9] - '0') * 100 + (buffer[10] - '0') * 10 + (buffer[11] - '0');
  }
}

int bucket_of(std::uint64_t ns) {
  if (ns > kMaxNs) ns = kMaxNs;
  if (ns < (std::uint64_t{1} << (kSubBits + 1))) return static_cast<int>(ns);
  const int shift = 63 - __builtin_clzll(ns) - kSubBits;
  return ((shift + 1) << kSubBits) + static_cast<int>((ns >> shift) & ((1u << kSubBits) - 1));
}

// The middle of a bucket's range, in ns.
double bucket_middle(int bucket) {
  if (bucket < (1 << (kSubBits + 1))) return bucket;
  const int shift = (bucket >> kSubBits) - 1;
  const std::uint64_t low = static_cast<std::uint64_t>((1 << kSubBits) + (bucket & ((1 << kSubBits) - 1))) << shift;
  return static_cast<double>(low) + static_cast<double>((std::uint64_t{1} << shift) - 1) / 2.0;
}

void* run(void* argument) {
  Worker& w = *static_cast<Worker*>(argument);
  sleep_until_ns(w.begin_ns);
  const int fd = connect_unix(w.options->socket);
  if (fd < 0) {
    w.failure = "cannot connect";
    return nullptr;
  }
  std::uint64_t last = now_ns();
  for (unsigned i = w.offset;; ++i) {
    if (last >= w.stop_ns) break;
    const Request& r = w.requests[i % w.request_count];
    if (!write_all(fd, r.bytes, r.size)) {
      w.failure = "write failed";
      break;
    }
    const int status = read_response(fd, w.buffer);
    if (status == 0) {
      w.failure = "connection closed by the server";
      break;
    }
    const std::uint64_t now = now_ns();
    if (last >= w.start_ns) {
      const std::uint64_t ns = now - last;
      ++w.histogram[bucket_of(ns)];
      if (ns > w.max_ns) w.max_ns = ns;
      ++w.completed;
      if (status != 200) ++w.errors;
    }
    last = now;
  }
  ::close(fd);
  return nullptr;
}

double cpu_seconds() {
  rusage usage{};
  ::getrusage(RUSAGE_SELF, &usage);
  return static_cast<double>(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
         static_cast<double>(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
}

int wait_for(const char* socket, double ms) {
  const std::uint64_t deadline = now_ns() + static_cast<std::uint64_t>(ms * 1e6);
  while (now_ns() < deadline) {
    const int fd = connect_unix(socket);
    if (fd >= 0) {
      ::close(fd);
      return 0;
    }
    usleep(100);
  }
  std::fprintf(stderr, "okxv-lean: nothing accepts on %s after %.0f ms\n", socket, ms);
  return 1;
}

int send_count(const char* socket, const Request& r, unsigned long count) {
  static char buffer[kBufferBytes];
  const int fd = connect_unix(socket);
  if (fd < 0) {
    std::fprintf(stderr, "okxv-lean: cannot connect to %s\n", socket);
    return 1;
  }
  for (unsigned long i = 0; i < count; ++i) {
    if (!write_all(fd, r.bytes, r.size)) {
      std::fprintf(stderr, "okxv-lean: write failed\n");
      return 1;
    }
    const int status = read_response(fd, buffer);
    if (status != 200) {
      std::fprintf(stderr, "okxv-lean: request %lu answered %d\n", i + 1, status);
      return 1;
    }
  }
  ::close(fd);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const Options o = parse(argc, argv);
  if (o.wait_ms > 0) return wait_for(o.socket, o.wait_ms);
  auto* requests = static_cast<Request*>(std::calloc(o.keys, sizeof(Request)));
  auto* workers = static_cast<Worker*>(std::calloc(o.connections, sizeof(Worker)));
  if (requests == nullptr || workers == nullptr) usage("out of memory");
  for (unsigned k = 0; k < o.keys; ++k) build_request(requests[k], k, o.order);
  if (o.count > 0) return send_count(o.socket, requests[0], o.count);

  const std::uint64_t begin = now_ns() + 50000000u;
  const std::uint64_t start = begin + static_cast<std::uint64_t>(o.warmup * 1e9);
  const std::uint64_t stop = start + static_cast<std::uint64_t>(o.duration * 1e9);
  for (unsigned c = 0; c < o.connections; ++c) {
    Worker& w = workers[c];
    w.options = &o;
    w.requests = requests;
    w.request_count = o.keys;
    w.offset = static_cast<unsigned>(static_cast<std::uint64_t>(c) * o.keys / o.connections);
    w.begin_ns = begin;
    w.start_ns = start;
    w.stop_ns = stop;
    if (pthread_create(&w.thread, nullptr, run, &w) != 0) usage("cannot start a thread");
  }
  sleep_until_ns(start);
  const double cpu_start = cpu_seconds();
  for (unsigned c = 0; c < o.connections; ++c) pthread_join(workers[c].thread, nullptr);
  const double cpu = cpu_seconds() - cpu_start;

  static std::uint64_t histogram[kBuckets];
  std::uint64_t completed = 0, errors = 0, max_ns = 0;
  for (unsigned c = 0; c < o.connections; ++c) {
    const Worker& w = workers[c];
    if (w.failure != nullptr) {
      std::fprintf(stderr, "okxv-lean: %s\n", w.failure);
      return 1;
    }
    for (int b = 0; b < kBuckets; ++b) histogram[b] += w.histogram[b];
    completed += w.completed;
    errors += w.errors;
    if (w.max_ns > max_ns) max_ns = w.max_ns;
  }
  if (completed == 0) {
    std::fprintf(stderr, "okxv-lean: no request completed\n");
    return 1;
  }
  // As okxv-load: the latency of the request at rank floor(p * n) in sorted order.
  const auto percentile_us = [&](double p) {
    std::uint64_t rank = static_cast<std::uint64_t>(p * static_cast<double>(completed));
    if (rank > completed - 1) rank = completed - 1;
    std::uint64_t seen = 0;
    for (int b = 0; b < kBuckets; ++b) {
      seen += histogram[b];
      if (seen > rank) return bucket_middle(b) / 1000.0;
    }
    return static_cast<double>(max_ns) / 1000.0;
  };
  const double rate = static_cast<double>(completed) / o.duration;
  const double load_cpu_us = cpu * 1e6 / static_cast<double>(completed);
  const double max_us = static_cast<double>(max_ns) / 1000.0;
  if (o.json) {
    std::printf(
        "{\"connections\":%u,\"keys\":%u,\"seconds\":%.3f,\"requests\":%llu,\"errors\":%llu,"
        "\"rps\":%.1f,\"p50_us\":%.1f,\"p99_us\":%.1f,\"p999_us\":%.1f,\"max_us\":%.1f,"
        "\"load_cpu_us_per_request\":%.2f}\n",
        o.connections, o.keys, o.duration, static_cast<unsigned long long>(completed),
        static_cast<unsigned long long>(errors), rate, percentile_us(0.50), percentile_us(0.99), percentile_us(0.999),
        max_us, load_cpu_us);
  } else {
    std::printf(
        "%u connections, %u keys, %.1f s: %llu requests (%llu errors), %.0f req/s\n"
        "latency us: p50 %.1f  p99 %.1f  p99.9 %.1f  max %.1f\n"
        "load generator CPU: %.2f us per request\n",
        o.connections, o.keys, o.duration, static_cast<unsigned long long>(completed),
        static_cast<unsigned long long>(errors), rate, percentile_us(0.50), percentile_us(0.99), percentile_us(0.999),
        max_us, load_cpu_us);
  }
  return 0;
}
