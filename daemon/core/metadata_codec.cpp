#include "daemon/core/metadata_codec.hpp"

#include <spdlog/spdlog.h>
#include <boost/json.hpp>

#include "common/error.hpp"
#include "common/timestamp.hpp"
#include "proto/limits_json.hpp"

namespace okxvault {
namespace json = boost::json;

namespace {

json::value ms_or_null(const std::optional<std::int64_t>& ms) { return ms ? json::value(*ms) : json::value(nullptr); }

json::array rules_json(const std::vector<Rule>& rules) {
  json::array out;
  for (const Rule& rule : rules) out.emplace_back(rule.text());
  return out;
}

// Reads a record's metadata. It is authenticated by the file MAC, so a malformed
// value means a bug or a forged file with a valid MAC: the store is not trusted.
class MetadataReader {
 public:
  MetadataReader(std::string_view text, std::string_view name) : name_(name), value_(parse(text)) {
    if (!value_.is_object()) fail();
  }
  const json::object& root() const { return value_.get_object(); }

  template <typename T>
  T get(const json::object& from, std::string_view key) const {
    const json::value* v = from.if_contains(key);
    if (v == nullptr || v->is_null()) return T{};
    auto result = json::try_value_to<T>(*v);
    if (!result) fail();
    return *result;
  }

  // A time in Unix milliseconds; one the clock cannot hold is refused, not wrapped.
  std::int64_t ms(const json::object& from, std::string_view key) const {
    const auto value = get<std::int64_t>(from, key);
    if (!in_clock_range(value)) fail();
    return value;
  }
  std::optional<std::int64_t> optional_ms(const json::object& from, std::string_view key) const {
    const json::value* v = from.if_contains(key);
    if (v == nullptr || v->is_null()) return std::nullopt;
    return ms(from, key);
  }

  std::vector<Grant> grants() const {
    std::vector<Grant> out;
    const json::value* list = root().if_contains("grants");
    if (list == nullptr) return out;
    if (!list->is_array()) fail();
    for (const json::value& item : list->get_array()) {
      if (!item.is_object()) fail();
      const json::object& g = item.get_object();
      Grant grant;
      grant.kind = get<std::string>(g, "kind") == "group" ? Grant::Kind::group : Grant::Kind::user;
      grant.id = get<std::uint32_t>(g, "id");
      grant.name = get<std::string>(g, "name");
      grant.read_only = get<bool>(g, "read_only");
      grant.expires_ms = optional_ms(g, "expires_ms");
      grant.allow = rules(g, "allow");
      grant.deny = rules(g, "deny");
      grant.ws = get<bool>(g, "ws");
      // Grants written before WebSocket logins became opt-in said "ws": true by
      // default; only "ws_explicit" tells a choice from that default. A login
      // can place orders, which a grant with allow rules may not mean to permit.
      if (grant.ws && !grant.allow.empty() && !get<bool>(g, "ws_explicit")) {
        grant.ws = false;
        spdlog::warn(
            "key '{}': the grant of {} has allow rules and was stored when WebSocket logins were on by "
            "default; its WebSocket login is now off (grant it again with --ws to turn it on)",
            name_, grant.who());
      }
      grant.limits = limits(g);
      out.push_back(std::move(grant));
    }
    return out;
  }

 private:
  [[noreturn]] void fail() const {
    throw Error(Code::tampered_store, "record '" + std::string(name_) + "' has invalid metadata");
  }

  json::value parse(std::string_view text) {
    boost::system::error_code ec;
    json::value value = json::parse(text, ec, &resource_);
    if (ec) fail();
    return value;  // moved, keeping its storage
  }

  // Read as strictly as a request's: a member this daemon does not know would
  // otherwise be dropped, and with it a restriction the grant was given.
  std::optional<proto::Limits> limits(const json::object& grant) const {
    const json::value* v = grant.if_contains("limits");
    if (v == nullptr || v->is_null()) return std::nullopt;
    try {
      return proto::limits_from_json(*v, true);
    } catch (const Error&) {
      fail();
    }
  }

  std::vector<Rule> rules(const json::object& from, std::string_view key) const {
    std::vector<Rule> out;
    try {
      for (const std::string& text : get<std::vector<std::string>>(from, key)) out.push_back(Rule::parse(text));
    } catch (const Error&) {
      fail();
    }
    return out;
  }

  const std::string_view name_;
  // The tree lives only while its entry is made: from a buffer on the stack, freed
  // at once, rather than a dozen heap blocks per key, each freed on its own.
  unsigned char buffer_[2048];
  json::monotonic_resource resource_{buffer_, sizeof buffer_};
  json::value value_;
};

}  // namespace

std::string encode_metadata(const KeyMetadata& metadata) {
  json::array grant_list;
  for (const Grant& g : metadata.grants) {
    json::object grant{{"kind", g.kind == Grant::Kind::group ? "group" : "user"},
                       {"id", g.id},
                       {"name", g.name},
                       {"read_only", g.read_only},
                       {"expires_ms", ms_or_null(g.expires_ms)},
                       {"allow", rules_json(g.allow)},
                       {"deny", rules_json(g.deny)},
                       {"ws", g.ws},
                       {"ws_explicit", true}};
    if (g.limits) grant["limits"] = proto::limits_to_json(*g.limits);
    grant_list.push_back(std::move(grant));
  }
  return json::serialize(json::object{{"simulated", metadata.simulated},
                                      {"created_ms", metadata.created_ms},
                                      {"expires_ms", ms_or_null(metadata.expires_ms)},
                                      {"last_used_ms", metadata.last_used_ms},
                                      {"sign_count", metadata.sign_count},
                                      {"grants", std::move(grant_list)}});
}

KeyMetadata decode_metadata(std::string_view text, std::string_view name) {
  const MetadataReader meta(text, name);
  KeyMetadata out;
  out.simulated = meta.get<bool>(meta.root(), "simulated");
  out.created_ms = meta.ms(meta.root(), "created_ms");
  out.expires_ms = meta.optional_ms(meta.root(), "expires_ms");
  out.last_used_ms = meta.ms(meta.root(), "last_used_ms");
  out.sign_count = meta.get<std::uint64_t>(meta.root(), "sign_count");
  out.grants = meta.grants();
  return out;
}

}  // namespace okxvault
