#include "proto/messages.hpp"

#include <sodium.h>
#include <boost/container/small_vector.hpp>
#include <boost/json.hpp>
#include <boost/json/basic_parser_impl.hpp>

#include <algorithm>
#include <array>
#include <cstring>
#include <limits>

#include "proto/base64.hpp"
#include "proto/json_escape.hpp"
#include "proto/limits_json.hpp"

namespace okxvault::proto {
namespace json = boost::json;

namespace {

json::value parse(std::string_view text, json::storage_ptr storage = {}) {
  boost::system::error_code ec;
  json::value value = json::parse(text, ec, std::move(storage));
  if (ec) throw Error(Code::invalid_json, "request body is not valid JSON: " + ec.message());
  return value;
}

// Reads the fields of one JSON object, strictly: wrong types and fields the
// protocol does not define are errors, so a typo never silently changes meaning.
class Fields {
 public:
  Fields(const json::value& value, std::string_view what) : what_(what) {
    object_ = value.if_object();
    if (object_ == nullptr) fail("expected a JSON object");
  }

  const json::string& required_string(std::string_view key) {
    const json::value* v = find(key);
    if (v == nullptr) fail("missing field '" + std::string(key) + "'");
    return as_string(key, *v);
  }

  std::optional<std::string> optional_string(std::string_view key) {
    const json::value* v = find(key);
    if (v == nullptr || v->is_null()) return std::nullopt;
    return std::string(as_string(key, *v));
  }

  bool optional_bool(std::string_view key, bool fallback) {
    const json::value* v = find(key);
    if (v == nullptr) return fallback;
    if (!v->is_bool()) fail("field '" + std::string(key) + "' must be a boolean");
    return v->get_bool();
  }

  bool required_bool(std::string_view key) {
    if (find(key) == nullptr) fail("missing field '" + std::string(key) + "'");
    return optional_bool(key, false);
  }

  std::uint64_t required_uint(std::string_view key) {
    const json::value* v = find(key);
    if (v == nullptr) fail("missing field '" + std::string(key) + "'");
    if (v->is_uint64()) return v->get_uint64();
    if (v->is_int64() && v->get_int64() >= 0) return static_cast<std::uint64_t>(v->get_int64());
    fail("field '" + std::string(key) + "' must be a non-negative integer");
  }

  std::uint64_t optional_uint(std::string_view key, std::uint64_t fallback) {
    if (find(key) == nullptr) return fallback;
    return required_uint(key);
  }

  std::vector<std::string> optional_strings(std::string_view key) {
    const json::value* v = find(key);
    std::vector<std::string> out;
    if (v == nullptr) return out;
    if (!v->is_array()) fail("field '" + std::string(key) + "' must be an array of strings");
    for (const json::value& item : v->get_array()) out.emplace_back(as_string(key, item));
    return out;
  }

  bool has(std::string_view key) const { return object_->contains(key); }

  // The member, or null if absent; unlike has(), it counts as read.
  const json::value* optional(std::string_view key) { return find(key); }

  const json::value& required(std::string_view key) {
    const json::value* v = find(key);
    if (v == nullptr) fail("missing field '" + std::string(key) + "'");
    return *v;
  }

  // Requests call this once every known field was read; replies do not, so that
  // a client keeps working with a newer daemon that adds fields.
  // The unknown field is not named: a secret sent as a member name by mistake
  // would be echoed in the reply and written to the logs.
  void finish() const {
    for (const auto& entry : *object_) {
      if (std::find(seen_.begin(), seen_.end(), entry.key()) != seen_.end()) continue;
      std::string known;
      for (const std::string_view key : seen_) {
        if (known.find("'" + std::string(key) + "'") == std::string::npos) {
          known.append(known.empty() ? "" : ", ").append("'").append(key).append("'");
        }
      }
      fail("unknown field (its name is not repeated, in case it is a secret); the fields are " + known);
    }
  }

 private:
  const json::value* find(std::string_view key) {
    seen_.push_back(key);
    return object_->if_contains(key);
  }

  const json::string& as_string(std::string_view key, const json::value& v) const {
    if (!v.is_string()) fail("field '" + std::string(key) + "' must be a string");
    return v.get_string();
  }

  [[noreturn]] void fail(const std::string& message) const {
    throw Error(Code::bad_request, std::string(what_) + ": " + message);
  }

  const json::object* object_ = nullptr;
  std::string_view what_;
  boost::container::small_vector<std::string_view, 8> seen_;  // no allocation for a request's few fields
};

// JSON text written into one string whose size is fixed before the first byte:
// a string with something to escape goes through Boost.JSON's serializer
// straight into it, any other is copied between quotes; there is no tree and no
// intermediate copy, and it is never reallocated. It wipes itself, handed out by
// take() or not.
class Writer {
 public:
  // Room for the text of `text` as a JSON string: a control byte becomes \u00XX.
  // (Sized without reading the text: the buffer is cleared once and wiped
  // once, which costs less than reading every string twice.)
  static constexpr std::size_t room(std::string_view text) { return 6 * text.size() + 2; }

  explicit Writer(std::size_t capacity) : out_(capacity, '\0') {}
  Writer(const Writer&) = delete;
  Writer& operator=(const Writer&) = delete;

  Writer& raw(std::string_view text) {
    if (text.size() > out_.size() - size_) overflow();
    std::memcpy(out_.data() + size_, text.data(), text.size());
    size_ += text.size();
    return *this;
  }

  Writer& quoted(std::string_view text) {
    if (!needs_escape(text)) return raw("\"").raw(text).raw("\"");
    serializer_.reset(text);
    size_ += serializer_.read(out_.data() + size_, out_.size() - size_).size();
    if (!serializer_.done()) overflow();
    return *this;
  }

  WipingString take() {
    out_.resize(size_);
    return std::move(out_);
  }

 private:
  [[noreturn]] static void overflow() { throw Error(Code::internal, "reply does not fit its buffer"); }

  WipingString out_;
  std::size_t size_ = 0;
  json::serializer serializer_;
};

json::object key_info_object(const KeyInfo& key) {
  json::object item{{"name", key.name},
                    {"api_key", key.api_key},
                    {"simulated", key.simulated},
                    {"created", key.created},
                    {"sign_count", key.sign_count}};
  item["last_used"] = key.last_used ? json::value(*key.last_used) : json::value(nullptr);
  item["expires"] = key.expires ? json::value(*key.expires) : json::value(nullptr);
  item["grants"] = key.grants;
  return item;
}

KeyInfo key_info_from(const json::value& value) {
  Fields k(value, "key");
  KeyInfo info;
  info.name = k.required_string("name");
  info.api_key = k.required_string("api_key");
  info.simulated = k.required_bool("simulated");
  info.created = k.required_string("created");
  info.last_used = k.optional_string("last_used");
  info.sign_count = k.required_uint("sign_count");
  info.expires = k.optional_string("expires");
  info.grants = k.optional_uint("grants", 0);
  return info;
}

// Serializes a request that carries secrets: the JSON tree and the text both
// live in guarded memory that is wiped when freed.
template <typename Fill>
SecretBytes encode_guarded(std::size_t capacity, Fill fill) {
  SecretBytes arena(capacity);
  json::static_resource resource(arena.data(), arena.size());
  json::value tree(json::object_kind, &resource);
  fill(tree.get_object());
  SecretBytes text(capacity);
  json::serializer serializer;
  serializer.reset(&tree);
  std::string_view written = serializer.read(reinterpret_cast<char*>(text.data()), text.size());
  if (!serializer.done()) throw Error(Code::internal, "request does not fit its buffer");
  return SecretBytes::copy_of(written);
}

// Parses a request that carries secrets. Parser scratch space and the parsed
// tree both live in guarded memory. A JSON value takes at most 16 bytes of tree
// per byte of text (an array of one-digit numbers), so the tree always fits.
constexpr std::size_t kParserStackBytes = 4 * BOOST_JSON_STACK_BUFFER_SIZE;

template <typename Read>
auto decode_guarded(std::string_view text, std::string_view what, Read read) {
  SecretBytes scratch(text.size() + 1024);
  SecretBytes arena(16 * text.size() + 4096);
  json::static_resource resource(arena.data(), arena.size());
  json::parser parser(&resource, {}, scratch.data(), scratch.size());
  parser.reset(&resource);
  boost::system::error_code ec;
  try {
    parser.write(text.data(), text.size(), ec);
  } catch (const std::bad_alloc&) {
    sodium_stackzero(kParserStackBytes);
    throw Error(Code::bad_request, std::string(what) + ": request is too complex");
  }
  // A string with escapes is unescaped through a buffer on the parser's stack.
  sodium_stackzero(kParserStackBytes);
  if (ec) throw Error(Code::invalid_json, "request body is not valid JSON: " + ec.message());
  json::value value = parser.release();
  Fields f(value, what);
  auto request = read(f);
  f.finish();
  return request;
}

}  // namespace

std::string encode(const StatusReply& reply) {
  return json::serialize(json::object{{"version", reply.version},
                                      {"locked", reply.locked},
                                      {"keys", reply.keys},
                                      {"uptime_seconds", reply.uptime_seconds},
                                      {"slots", json::value_from(reply.slots)}});
}

StatusReply decode_status(std::string_view text) {
  json::value value = parse(text);
  Fields f(value, "status");
  StatusReply reply;
  reply.version = f.required_string("version");
  reply.locked = f.required_bool("locked");
  reply.keys = f.required_uint("keys");
  reply.uptime_seconds = f.required_uint("uptime_seconds");
  reply.slots = f.optional_strings("slots");  // absent from daemons before passphrase slots
  return reply;
}

std::string encode(const audit_chain::Verdict& verdict) {
  return json::serialize(json::object{{"ok", verdict.ok},
                                      {"lines", verdict.lines},
                                      {"keyed", verdict.keyed},
                                      {"macs_checked", verdict.macs_checked},
                                      {"unkeyed_tail", verdict.unkeyed_tail},
                                      {"head_line", verdict.head_line},
                                      {"first_bad", verdict.first_bad},
                                      {"reason", verdict.reason},
                                      {"follows", verdict.follows},
                                      {"last_hash", verdict.last_hash}});
}

audit_chain::Verdict decode_audit_verdict(std::string_view text) {
  json::value value = parse(text);
  Fields f(value, "audit verdict");
  audit_chain::Verdict verdict;
  verdict.ok = f.required_bool("ok");
  verdict.lines = f.required_uint("lines");
  verdict.keyed = f.required_uint("keyed");
  verdict.macs_checked = f.required_bool("macs_checked");
  verdict.unkeyed_tail = f.required_uint("unkeyed_tail");
  verdict.head_line = f.required_uint("head_line");
  verdict.first_bad = f.required_uint("first_bad");
  verdict.reason = f.optional_string("reason").value_or("");
  // Not sent by a daemon older than log rotation.
  verdict.follows = f.optional_string("follows").value_or("");
  verdict.last_hash = f.optional_string("last_hash").value_or("");
  return verdict;
}

std::string encode(const KeyInfo& key) { return json::serialize(key_info_object(key)); }

KeyInfo decode_key_info(std::string_view text) { return key_info_from(parse(text)); }

std::string encode(const std::vector<KeyInfo>& keys) {
  json::array list;
  for (const auto& key : keys) list.push_back(key_info_object(key));
  return json::serialize(json::object{{"keys", std::move(list)}});
}

std::vector<KeyInfo> decode_key_list(std::string_view text) {
  json::value value = parse(text);
  Fields f(value, "key list");
  const json::value& list = f.required("keys");
  if (!list.is_array()) throw Error(Code::bad_request, "key list: 'keys' must be an array");
  std::vector<KeyInfo> keys;
  for (const json::value& item : list.get_array()) keys.push_back(key_info_from(item));
  return keys;
}

// The credentials an add and an update carry, in guarded memory; `more` writes
// the request's other fields, whose text takes at most `more_bytes`.
template <typename Request, typename More>
SecretBytes encode_credentials(const Request& request, std::size_t more_bytes, More more) {
  const std::size_t capacity =
      4 * (more_bytes + request.api_key.size() + request.secret.size() + request.passphrase.size()) + 1024;
  return encode_guarded(capacity, [&](json::object& out) {
    more(out);
    out["api_key"] = request.api_key;
    out["secret"] = request.secret.reveal();
    out["passphrase"] = request.passphrase.reveal();
    out["simulated"] = request.simulated;
  });
}

// The credentials of an add or an update, read strictly; `simulated` is left
// to the request, which says whether it is optional.
template <typename Request>
void read_credentials(Fields& f, Request& request) {
  request.api_key = f.required_string("api_key");
  request.secret = SecretBytes::copy_of(std::string_view(f.required_string("secret")));
  request.passphrase = SecretBytes::copy_of(std::string_view(f.required_string("passphrase")));
}

SecretBytes encode(const AddKeyRequest& request) {
  return encode_credentials(request, request.name.size(), [&](json::object& out) {
    out["name"] = request.name;
    if (request.expires) out["expires"] = *request.expires;
  });
}

SecretBytes encode(const UpdateKeyRequest& request) {
  return encode_credentials(request, 0, [](json::object&) {});
}

SecretBytes encode(const PassphraseRequest& request) {
  // JSON escapes a control byte as \u00XX: six bytes of text for one of input.
  const std::size_t capacity = 8 * (request.passphrase.size() + request.new_passphrase.size()) + 1024;
  return encode_guarded(capacity, [&](json::object& out) {
    if (!request.passphrase.empty()) out["passphrase"] = request.passphrase.reveal();
    if (!request.new_passphrase.empty()) out["new_passphrase"] = request.new_passphrase.reveal();
  });
}

AddKeyRequest decode_add_key(std::string_view text) {
  return decode_guarded(text, "add key", [](Fields& f) {
    AddKeyRequest request;
    request.name = f.required_string("name");
    read_credentials(f, request);
    request.simulated = f.optional_bool("simulated", false);
    request.expires = f.optional_string("expires");
    return request;
  });
}

UpdateKeyRequest decode_update_key(std::string_view text) {
  return decode_guarded(text, "update key", [](Fields& f) {
    UpdateKeyRequest request;
    read_credentials(f, request);
    request.simulated = f.required_bool("simulated");
    return request;
  });
}

PassphraseRequest decode_passphrases(std::string_view text) {
  if (text.empty()) return {};  // calls that need no passphrase may send no body
  return decode_guarded(text, "passphrase", [](Fields& f) {
    PassphraseRequest request;
    for (auto [key, field] :
         {std::pair{"passphrase", &request.passphrase}, std::pair{"new_passphrase", &request.new_passphrase}}) {
      if (!f.has(key)) continue;
      const json::string& value = f.required_string(key);
      if (value.empty()) throw Error(Code::bad_request, std::string("passphrase: '") + key + "' must not be empty");
      *field = SecretBytes::copy_of(std::string_view(value));
    }
    return request;
  });
}

namespace {

std::vector<unsigned char> from_base64(std::string_view text, std::string_view what) {
  std::optional<std::vector<unsigned char>> bytes = proto::from_base64(text);
  if (!bytes) throw Error(Code::bad_request, std::string(what) + " is not base64");
  return std::move(*bytes);
}

}  // namespace

SecretBytes encode(const BackupRequest& request) {
  std::size_t names = 0;
  for (const std::string& name : request.keys) names += 4 * name.size() + 8;
  return encode_guarded(8 * request.passphrase.size() + 4 * names + 1024, [&](json::object& out) {
    out["passphrase"] = request.passphrase.reveal();
    if (!request.keys.empty()) out["keys"] = json::value_from(request.keys);
  });
}

BackupRequest decode_backup_request(std::string_view text) {
  return decode_guarded(text, "backup", [](Fields& f) {
    BackupRequest request;
    request.passphrase = SecretBytes::copy_of(std::string_view(f.required_string("passphrase")));
    request.keys = f.optional_strings("keys");
    return request;
  });
}

std::string encode(const BackupReply& reply) {
  return json::serialize(json::object{{"backup", to_base64(reply.backup)}, {"keys", reply.keys}});
}

BackupReply decode_backup_reply(std::string_view text) {
  json::value value = parse(text);
  Fields f(value, "backup reply");
  BackupReply reply;
  reply.backup = from_base64(f.required_string("backup"), "backup reply: 'backup'");
  reply.keys = f.required_uint("keys");
  return reply;
}

SecretBytes encode(const RestoreRequest& request) {
  std::size_t renames = 0;
  for (const Rename& rename : request.rename) renames += rename.from.size() + rename.to.size() + 32;
  const std::size_t capacity =
      4 * (sodium_base64_ENCODED_LEN(request.backup.size(), sodium_base64_VARIANT_ORIGINAL) + renames) +
      8 * request.passphrase.size() + 1024;
  return encode_guarded(capacity, [&](json::object& out) {
    out["backup"] = to_base64(request.backup);
    out["passphrase"] = request.passphrase.reveal();
    json::array rename;
    for (const Rename& r : request.rename) rename.push_back(json::object{{"from", r.from}, {"to", r.to}});
    out["rename"] = std::move(rename);
    out["skip_existing"] = request.skip_existing;
  });
}

RestoreRequest decode_restore_request(std::string_view text) {
  return decode_guarded(text, "restore", [](Fields& f) {
    RestoreRequest request;
    request.backup = from_base64(f.required_string("backup"), "restore: 'backup'");
    request.passphrase = SecretBytes::copy_of(std::string_view(f.required_string("passphrase")));
    if (const json::value* list = f.optional("rename"); list != nullptr) {
      if (!list->is_array()) throw Error(Code::bad_request, "restore: 'rename' must be an array");
      for (const json::value& item : list->get_array()) {
        Fields r(item, "restore: rename");
        request.rename.push_back({std::string(r.required_string("from")), std::string(r.required_string("to"))});
        r.finish();
      }
    }
    request.skip_existing = f.optional_bool("skip_existing", false);
    return request;
  });
}

std::string encode(const RestoreReply& reply) {
  json::array restored;
  for (const KeyInfo& key : reply.restored) restored.push_back(key_info_object(key));
  return json::serialize(json::object{{"restored", std::move(restored)},
                                      {"skipped", json::value_from(reply.skipped)},
                                      {"notes", json::value_from(reply.notes)}});
}

RestoreReply decode_restore_reply(std::string_view text) {
  json::value value = parse(text);
  Fields f(value, "restore reply");
  RestoreReply reply;
  const json::value& restored = f.required("restored");
  if (!restored.is_array()) throw Error(Code::bad_request, "restore reply: 'restored' must be an array");
  for (const json::value& item : restored.get_array()) reply.restored.push_back(key_info_from(item));
  reply.skipped = f.optional_strings("skipped");
  reply.notes = f.optional_strings("notes");
  return reply;
}

std::string encode(const HostKeyReply& reply) {
  return json::serialize(json::object{{"public_key", reply.public_key}});
}

HostKeyReply decode_host_key_reply(std::string_view text) {
  json::value value = parse(text);
  Fields f(value, "host key");
  return {std::string(f.required_string("public_key"))};
}

std::string encode(const ImportRequest& request) { return json::serialize(json::object{{"sealed", request.sealed}}); }

ImportRequest decode_import_request(std::string_view text) {
  json::value value = parse(text);
  Fields f(value, "import");
  ImportRequest request{std::string(f.required_string("sealed"))};
  f.finish();
  return request;
}

std::string encode(const SignRequest& request) {
  json::object out{{"method", request.method}, {"path", request.path}, {"body", request.body}};
  if (request.timestamp) out["timestamp"] = *request.timestamp;
  return json::serialize(out);
}

namespace {

// A sign request read by Boost.JSON's own parser straight into its fields, with
// no tree: a sign is the daemon's busiest path. It accepts and refuses exactly
// what reading the tree with Fields did: a syntax error first (invalid_json),
// then the fields checked in the same order with the same messages, a repeated
// member counting by its last value as the tree keeps it, and nested values
// skipped. The unit tests and fuzz_sign_json compare the two readings.
class SignRequestHandler {
 public:
  static constexpr std::size_t max_object_size = -1;
  static constexpr std::size_t max_array_size = -1;
  static constexpr std::size_t max_key_size = -1;
  static constexpr std::size_t max_string_size = -1;

  bool on_document_begin(boost::system::error_code&) { return true; }
  bool on_document_end(boost::system::error_code&) { return true; }
  bool on_object_begin(boost::system::error_code&) {
    if (depth_ == 0) is_object_ = true;
    return enter();
  }
  bool on_object_end(std::size_t, boost::system::error_code&) { return leave(); }
  bool on_array_begin(boost::system::error_code&) { return enter(); }
  bool on_array_end(std::size_t, boost::system::error_code&) { return leave(); }
  bool on_key_part(json::string_view part, std::size_t, boost::system::error_code&) {
    if (depth_ == 1) key_.append(part.data(), part.size());
    return true;
  }
  bool on_key(json::string_view part, std::size_t, boost::system::error_code&) {
    if (depth_ != 1) return true;
    key_.append(part.data(), part.size());
    current_ = kUnknown;
    for (std::size_t i = 0; i < kNames.size(); ++i) {
      if (key_ == kNames[i]) current_ = i;
    }
    if (current_ == kUnknown) unknown_ = true;
    key_.clear();
    return true;
  }
  bool on_string_part(json::string_view part, std::size_t, boost::system::error_code&) {
    string_part(part);
    return true;
  }
  bool on_string(json::string_view part, std::size_t, boost::system::error_code&) {
    string_part(part);
    in_string_ = false;
    return true;
  }
  bool on_number_part(json::string_view, boost::system::error_code&) { return true; }
  bool on_int64(std::int64_t, json::string_view, boost::system::error_code&) { return value(Kind::other); }
  bool on_uint64(std::uint64_t, json::string_view, boost::system::error_code&) { return value(Kind::other); }
  bool on_double(double, json::string_view, boost::system::error_code&) { return value(Kind::other); }
  bool on_bool(bool, boost::system::error_code&) { return value(Kind::other); }
  bool on_null(boost::system::error_code&) { return value(Kind::null); }
  bool on_comment_part(json::string_view, boost::system::error_code&) { return true; }
  bool on_comment(json::string_view, boost::system::error_code&) { return true; }

  // The request, once the text parsed: Fields' checks, in its order.
  SignRequest take() {
    const auto fail = [](const std::string& message) { throw Error(Code::bad_request, "sign: " + message); };
    if (!is_object_) fail("expected a JSON object");
    for (const std::size_t required : {kMethod, kPath}) {
      const Kind kind = kinds_[required];
      if (kind == Kind::absent) fail("missing field '" + std::string(kNames[required]) + "'");
      if (kind != Kind::string) fail("field '" + std::string(kNames[required]) + "' must be a string");
    }
    for (const std::size_t optional : {kBody, kTimestamp}) {
      const Kind kind = kinds_[optional];
      if (kind == Kind::other) fail("field '" + std::string(kNames[optional]) + "' must be a string");
    }
    if (unknown_) {
      fail(
          "unknown field (its name is not repeated, in case it is a secret); the fields are 'method', 'path', "
          "'body', 'timestamp'");
    }
    SignRequest request;
    request.method = std::move(values_[kMethod]);
    request.path = std::move(values_[kPath]);
    if (kinds_[kBody] == Kind::string) request.body = std::move(values_[kBody]);
    if (kinds_[kTimestamp] == Kind::string) request.timestamp = std::move(values_[kTimestamp]);
    return request;
  }

 private:
  enum class Kind { absent, string, null, other };
  static constexpr std::array<std::string_view, 4> kNames{"method", "path", "body", "timestamp"};
  static constexpr std::size_t kMethod = 0, kPath = 1, kBody = 2, kTimestamp = 3, kUnknown = 4;

  // A value begins: a member's of the top object, whose kind it records (the
  // last of a repeated member's values counts), or one nested deeper.
  bool value(Kind kind) {
    if (depth_ == 1 && current_ != kUnknown) kinds_[current_] = kind;
    return true;
  }
  // An object or array begins, as a value, or ends.
  bool enter() {
    value(Kind::other);
    ++depth_;
    return true;
  }
  bool leave() {
    --depth_;
    return true;
  }

  void string_part(json::string_view part) {
    if (depth_ != 1 || current_ == kUnknown) return;
    if (!in_string_) {
      in_string_ = true;
      kinds_[current_] = Kind::string;
      values_[current_].clear();
    }
    values_[current_].append(part.data(), part.size());
  }

  std::size_t depth_ = 0;
  bool is_object_ = false;
  bool unknown_ = false;
  bool in_string_ = false;
  std::size_t current_ = kUnknown;  // the member of the top object being read
  std::string key_;                 // its name so far
  std::array<Kind, 4> kinds_{};
  std::array<std::string, 4> values_;
};

}  // namespace

SignRequest decode_sign(std::string_view text) {
  json::basic_parser<SignRequestHandler> parser{json::parse_options{}};
  boost::system::error_code ec;
  const std::size_t used = parser.write_some(false, text.data(), text.size(), ec);
  if (!ec && used < text.size()) ec = json::error::extra_data;
  if (ec) throw Error(Code::invalid_json, "request body is not valid JSON: " + ec.message());
  return parser.handler().take();
}

WipingString encode(const SignReplyView& reply) {
  constexpr std::string_view kOpen = R"({"timestamp":)", kHeaders = R"(,"headers":{)", kClose = "}}";
  std::size_t capacity = kOpen.size() + Writer::room(reply.timestamp) + kHeaders.size() + kClose.size();
  for (const HeaderView& header : reply.headers) {
    capacity += Writer::room(header.name) + Writer::room(header.value) + 2;  // ':' and ','
  }
  Writer out(capacity);
  out.raw(kOpen).quoted(reply.timestamp).raw(kHeaders);
  for (const HeaderView& header : reply.headers) {
    if (&header != reply.headers.data()) out.raw(",");
    out.quoted(header.name).raw(":").quoted(header.value);
  }
  return out.raw(kClose).take();
}

std::string encode(const SignReply& reply) {
  std::vector<HeaderView> headers;
  for (const auto& [name, value] : reply.headers) headers.push_back({name, value});
  return std::string(encode(SignReplyView{reply.timestamp, headers}));
}

SignReply decode_sign_reply(std::string_view text) {
  json::value value = parse(text);
  Fields f(value, "sign reply");
  SignReply reply;
  reply.timestamp = f.required_string("timestamp");
  const json::value& headers = f.required("headers");
  if (!headers.is_object()) throw Error(Code::bad_request, "sign reply: 'headers' must be an object");
  for (const auto& entry : headers.get_object()) {
    if (!entry.value().is_string()) throw Error(Code::bad_request, "sign reply: header values must be strings");
    reply.headers.emplace_back(entry.key(), entry.value().get_string());
  }
  return reply;
}

std::string encode(const WsLoginRequest& request) {
  json::object out;
  if (request.timestamp) out["timestamp"] = *request.timestamp;
  return json::serialize(out);
}

WsLoginRequest decode_ws_login(std::string_view text) {
  WsLoginRequest request;
  if (text.empty()) return request;  // no body: the daemon picks the timestamp
  json::value value = parse(text);
  Fields f(value, "ws-login");
  request.timestamp = f.optional_string("timestamp");
  f.finish();
  return request;
}

WipingString encode(const WsLoginFrameView& frame) {
  constexpr std::string_view kApiKey = R"({"op":"login","args":[{"apiKey":)", kPassphrase = R"(,"passphrase":)",
                             kTimestamp = R"(,"timestamp":)", kSign = R"(,"sign":)", kClose = "}]}";
  Writer out(kApiKey.size() + Writer::room(frame.api_key) + kPassphrase.size() + Writer::room(frame.passphrase) +
             kTimestamp.size() + Writer::room(frame.timestamp) + kSign.size() + Writer::room(frame.sign) +
             kClose.size());
  out.raw(kApiKey).quoted(frame.api_key).raw(kPassphrase).quoted(frame.passphrase);
  out.raw(kTimestamp).quoted(frame.timestamp).raw(kSign).quoted(frame.sign);
  return out.raw(kClose).take();
}

WsLoginFrame decode_ws_login_frame(std::string_view text) {
  json::value value = parse(text);
  Fields f(value, "login frame");
  if (f.required_string("op") != "login") throw Error(Code::bad_request, "login frame: op must be 'login'");
  const json::value& args = f.required("args");
  if (!args.is_array() || args.get_array().size() != 1) {
    throw Error(Code::bad_request, "login frame: args must hold one object");
  }
  Fields a(args.get_array()[0], "login frame");
  WsLoginFrame frame;
  frame.api_key = a.required_string("apiKey");
  frame.passphrase = a.required_string("passphrase");
  frame.timestamp = a.required_string("timestamp");
  frame.sign = a.required_string("sign");
  return frame;
}

std::string encode(const ErrorReply& reply) {
  json::object error{{"code", code_name(reply.code)}, {"message", reply.message}};
  if (!reply.rule.empty()) error["rule"] = reply.rule;
  return json::serialize(json::object{{"error", std::move(error)}});
}

ErrorReply decode_error(std::string_view text) {
  json::value value = parse(text);
  Fields f(value, "error");
  const json::value& error = f.required("error");
  Fields e(error, "error");
  ErrorReply reply;
  reply.code = code_from_name(e.required_string("code"));
  reply.message = e.required_string("message");
  reply.rule = e.optional_string("rule").value_or("");
  return reply;
}

json::object limits_to_json(const Limits& limits) {
  json::object out;
  const auto list = [&](std::string_view key, const std::vector<std::string>& values) {
    if (!values.empty()) out[key] = json::value_from(values);
  };
  list("inst", limits.inst);
  list("inst_types", limits.inst_types);
  if (!limits.max_sz.empty()) {
    json::array sizes;
    for (const MaxSize& max : limits.max_sz) sizes.push_back(json::object{{"inst", max.inst}, {"sz", max.sz}});
    out["max_sz"] = std::move(sizes);
  }
  if (!limits.px_range.empty()) {
    json::array ranges;
    for (const PxRange& range : limits.px_range) {
      json::object item{{"inst", range.inst}};
      if (!range.min.empty()) item["min"] = range.min;
      if (!range.max.empty()) item["max"] = range.max;
      ranges.push_back(std::move(item));
    }
    out["px_range"] = std::move(ranges);
  }
  list("ord_types", limits.ord_types);
  list("sides", limits.sides);
  list("td_modes", limits.td_modes);
  if (limits.reduce_only) out["reduce_only"] = true;
  if (limits.max_leverage) out["max_leverage"] = *limits.max_leverage;
  if (limits.orders_per_minute) out["orders_per_minute"] = *limits.orders_per_minute;
  return out;
}

Limits limits_from_json(const json::value& value, bool strict) {
  Fields f(value, "limits");
  // The entries of a list of objects, each read by `read`.
  const auto objects = [&](std::string_view key, std::string_view what, auto read) {
    using Entry = decltype(read(std::declval<Fields&>()));
    std::vector<Entry> out;
    const json::value* list = f.optional(key);
    if (list == nullptr) return out;
    if (!list->is_array()) throw Error(Code::bad_request, "limits: field '" + std::string(key) + "' must be an array");
    for (const json::value& item : list->get_array()) {
      Fields e(item, what);
      out.push_back(read(e));
      if (strict) e.finish();
    }
    return out;
  };
  Limits limits;
  limits.inst = f.optional_strings("inst");
  limits.inst_types = f.optional_strings("inst_types");
  limits.max_sz = objects("max_sz", "limits: max_sz", [](Fields& e) {
    return MaxSize{std::string(e.required_string("inst")), std::string(e.required_string("sz"))};
  });
  limits.px_range = objects("px_range", "limits: px_range", [](Fields& e) {
    PxRange range;
    range.inst = e.required_string("inst");
    range.min = e.optional_string("min").value_or("");
    range.max = e.optional_string("max").value_or("");
    return range;
  });
  limits.ord_types = f.optional_strings("ord_types");
  limits.sides = f.optional_strings("sides");
  limits.td_modes = f.optional_strings("td_modes");
  limits.reduce_only = f.optional_bool("reduce_only", false);
  limits.max_leverage = f.optional_string("max_leverage");
  if (f.optional("orders_per_minute") != nullptr) {
    // Checked before it is narrowed, so that 2^32 + 1 does not read as 1.
    const std::uint64_t n = f.required_uint("orders_per_minute");
    if (n > std::numeric_limits<std::uint32_t>::max()) {
      throw Error(Code::bad_request, "limits: orders_per_minute: from 1 to " + std::to_string(kMaxOrdersPerMinute));
    }
    limits.orders_per_minute = static_cast<std::uint32_t>(n);
  }
  if (strict) {
    f.finish();
    validate(limits);
  }
  return limits;
}

std::string encode(const std::vector<GrantInfo>& grants) {
  json::array list;
  for (const GrantInfo& g : grants) {
    json::object item;
    item[g.kind == GrantInfo::Kind::user ? "user" : "group"] = g.name;
    if (g.id) item["id"] = *g.id;
    item["read_only"] = g.read_only;
    item["expires"] = g.expires ? json::value(*g.expires) : json::value(nullptr);
    item["allow"] = json::value_from(g.allow);
    item["deny"] = json::value_from(g.deny);
    item["ws"] = g.ws;
    item["limits"] = g.limits ? json::value(limits_to_json(*g.limits)) : json::value(nullptr);
    list.push_back(std::move(item));
  }
  return json::serialize(json::object{{"grants", std::move(list)}});
}

namespace {

// A request's grants are read strictly; a reply's accept fields this version
// does not know, at the top and in each grant.
std::vector<GrantInfo> grants_from(std::string_view text, bool strict) {
  json::value value = parse(text);
  Fields f(value, "grants");
  const json::value& list = f.required("grants");
  if (strict) f.finish();
  if (!list.is_array()) throw Error(Code::bad_request, "grants: 'grants' must be an array");
  std::vector<GrantInfo> grants;
  for (const json::value& item : list.get_array()) {
    Fields g(item, "grant");
    GrantInfo grant;
    if (g.has("user") == g.has("group")) throw Error(Code::bad_request, "grant: give exactly one of 'user' or 'group'");
    grant.kind = g.has("user") ? GrantInfo::Kind::user : GrantInfo::Kind::group;
    grant.name = g.required_string(grant.kind == GrantInfo::Kind::user ? "user" : "group");
    if (g.has("id")) grant.id = static_cast<std::uint32_t>(g.required_uint("id"));
    grant.read_only = g.optional_bool("read_only", false);
    grant.expires = g.optional_string("expires");
    grant.allow = g.optional_strings("allow");
    grant.deny = g.optional_strings("deny");
    grant.ws = g.optional_bool("ws", false);
    grant.limits_stated = g.has("limits");
    if (const json::value* limits = g.optional("limits"); limits != nullptr && !limits->is_null()) {
      grant.limits = limits_from_json(*limits, strict);
    }
    if (strict) g.finish();
    grants.push_back(std::move(grant));
  }
  return grants;
}

}  // namespace

std::vector<GrantInfo> decode_grants(std::string_view text) { return grants_from(text, true); }

std::vector<GrantInfo> decode_grants_reply(std::string_view text) { return grants_from(text, false); }

}  // namespace okxvault::proto
