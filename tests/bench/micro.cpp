// In-process micro-benchmarks: the signer and the sign request's decoding alone,
// and the request handler on a real Vault (opened from a real store in a temp
// dir) without a socket, with one key and with 10,000, with the audit log on.

#include <benchmark/benchmark.h>

#include <memory>

#include "daemon/api/handler.hpp"
#include "daemon/api/metrics.hpp"
#include "daemon/store/store_file.hpp"
#include "proto/messages.hpp"
#include "tests/bench/bench_store.hpp"
#include "tests/support/process.hpp"

namespace okxvault {
namespace {
namespace http = boost::beast::http;

const Peer kRoot{0, 0, 1};
constexpr std::string_view kSignBody = R"({"method":"GET","path":"/api/v5/account/balance?ccy=BTC"})";

void BM_Signer(benchmark::State& state) {
  const Signer signer(SecretBytes::copy_of("9D3F6A1C7E2B48D5A0F1C3E5B7D9A2C4"));
  for (auto _ : state) {
    benchmark::DoNotOptimize(signer.sign("2020-12-08T09:08:57.715Z", "GET", "/api/v5/account/balance?ccy=BTC", ""));
  }
}
BENCHMARK(BM_Signer);

// A sign request's body decoded, as the handler does first.
void BM_DecodeSign(benchmark::State& state) {
  for (auto _ : state) benchmark::DoNotOptimize(proto::decode_sign(kSignBody));
}
BENCHMARK(BM_DecodeSign);

// A daemon's handler without its socket: a vault of `keys` keys and its audit log.
struct Fixture {
  test::TempDir dir;
  std::unique_ptr<Vault> vault;
  std::unique_ptr<Audit> audit;
  std::unique_ptr<Handler> handler;

  explicit Fixture(unsigned long keys) {
    bench::write_store(dir.path(), keys);
    vault = Vault::open(dir / "vault.store", read_key_file(dir / "master.key"));
    audit = std::make_unique<Audit>(dir / "audit.log");
    handler = std::make_unique<Handler>(*vault, *audit, HandlerOptions{std::chrono::seconds(30), 0, {}});
  }
};

void BM_HandlerSign(benchmark::State& state) {
  const auto keys = static_cast<unsigned long>(state.range(0));
  Fixture fixture(keys);
  std::vector<std::string> targets;
  for (unsigned long k = 0; k < keys; ++k) targets.push_back("/v1/keys/" + bench::key_name(k) + "/sign");
  std::size_t i = 0;
  for (auto _ : state) {
    Request request{http::verb::post, targets[i++ % targets.size()], 11};
    request.body() = kSignBody;
    request.prepare_payload();
    const Response response = fixture.handler->handle(request, kRoot);
    if (response.result() != http::status::ok) state.SkipWithError("sign failed");
  }
  fixture.audit->flush();
}
// CPU of the whole process (the audit writer thread included), per sign.
BENCHMARK(BM_HandlerSign)->ArgName("keys")->Arg(1)->Arg(10'000)->MeasureProcessCPUTime()->UseRealTime();

// What the audit log costs a sign: formatting on the caller's thread, chaining
// and writing on the audit thread, both in the process CPU time.
void BM_AuditSignRecord(benchmark::State& state) {
  test::TempDir dir;
  Audit audit(dir / "audit.log");
  const Peer peer{1001, 1001, 4242, {1001}, "/usr/bin/python3.11"};
  for (auto _ : state) {
    audit.record(peer, {"sign", "k00000", "GET", "/api/v5/account/balance?ccy=BTC", true, "user bot"});
  }
  audit.flush();
}
BENCHMARK(BM_AuditSignRecord)->MeasureProcessCPUTime()->UseRealTime();

// The metrics a sign updates: a latency observation (the per-key count is the
// key's own sign counter, which existed before the metrics).
void BM_MetricsObserve(benchmark::State& state) {
  Metrics metrics;
  for (auto _ : state) metrics.observe_request(std::chrono::microseconds(37));
  benchmark::DoNotOptimize(metrics.render({}, false, {}));
}
BENCHMARK(BM_MetricsObserve);

}  // namespace
}  // namespace okxvault

BENCHMARK_MAIN();
