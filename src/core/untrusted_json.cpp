#include "core/untrusted_json.hpp"

#include <fmt/format.h>

#include <climits>
#include <cmath>
#include <vector>

#include "core/error.hpp"

namespace seek {

namespace {

using nlohmann::json;

constexpr size_t kMaxChars = 60;

// A scalar as JSON. Only the first kMaxChars bytes of a long string are rendered, since the rest is cut
// anyway; `replace` keeps a string cut inside a UTF-8 sequence from throwing.
std::string scalar(const json& v) {
  if (v.is_string() && v.get_ref<const std::string&>().size() > kMaxChars)
    return json(v.get_ref<const std::string&>().substr(0, kMaxChars))
               .dump(-1, ' ', false, json::error_handler_t::replace) +
           "...";
  return v.dump(-1, ' ', false, json::error_handler_t::replace);
}

std::string member(const json& v) {
  if (v.is_array()) return v.empty() ? "[]" : "[...]";
  if (v.is_object()) return v.empty() ? "{}" : "{...}";
  return scalar(v);
}

// Cuts `s` to kMaxChars bytes, backing off to the start of a UTF-8 sequence so the message stays valid text.
bool cut(std::string& s) {
  if (s.size() <= kMaxChars) return false;
  size_t n = kMaxChars;
  while (n > 0 && (static_cast<unsigned char>(s[n]) & 0xC0) == 0x80) --n;
  s.resize(n);
  s += "...";
  return true;
}

// The length of the well-formed UTF-8 sequence at s[i] (RFC 3629: no overlong forms, surrogates or values
// past U+10FFFF), or 0.
size_t utf8_sequence_at(std::string_view s, size_t i) {
  const auto b = [&](size_t k) { return i + k < s.size() ? static_cast<unsigned char>(s[i + k]) : 0u; };
  const unsigned c = b(0);
  if (c < 0x80) return 1;
  const size_t n = c >= 0xC2 && c <= 0xDF ? 2 : c >= 0xE0 && c <= 0xEF ? 3 : c >= 0xF0 && c <= 0xF4 ? 4 : 0;
  if (n == 0) return 0;
  const unsigned lo = c == 0xE0   ? 0xA0
                      : c == 0xF0 ? 0x90
                                  : 0x80,
                 hi = c == 0xED   ? 0x9F
                      : c == 0xF4 ? 0x8F
                                  : 0xBF;
  if (b(1) < lo || b(1) > hi) return 0;
  for (size_t k = 2; k < n; ++k)
    if ((b(k) & 0xC0) != 0x80) return 0;
  return n;
}

// `s` with each byte that is not part of well-formed UTF-8 written as \xNN: a parse error quotes the input it
// stopped at, and a header's raw bytes made the message itself invalid text.
std::string escape_invalid_utf8(const std::string& s) {
  std::string out;
  for (size_t i = 0; i < s.size();) {
    const size_t n = utf8_sequence_at(s, i);
    if (n == 0) {
      out += fmt::format("\\x{:02x}", static_cast<unsigned char>(s[i]));
      ++i;
    } else {
      out.append(s, i, n);
      i += n;
    }
  }
  return out;
}

}  // namespace

bool json_flag(const json& object, const char* key, bool dflt, std::string_view where) {
  const auto it = object.find(key);
  if (it == object.end() || it->is_null()) return dflt;
  if (!it->is_boolean()) fail("{}: {} must be true or false, got {}", where, key, describe_json(*it));
  return it->get<bool>();
}

std::optional<int64_t> json_whole_number(const json& v) {
  if (v.is_number_unsigned()) {
    if (v.get<uint64_t>() > uint64_t(INT64_MAX)) return std::nullopt;
    return int64_t(v.get<uint64_t>());
  }
  if (v.is_number_integer()) return v.get<int64_t>();
  if (v.is_number_float()) {
    const double d = v.get<double>();
    if (std::floor(d) == d && std::abs(d) < 9.2e18) return int64_t(d);
  }
  return std::nullopt;
}

std::string describe_json(const json& v) {
  if (!v.is_structured()) {
    std::string s = scalar(v);
    cut(s);
    return s;
  }
  const bool array = v.is_array();
  std::string s = array ? "[" : "{";
  for (auto it = v.begin(); it != v.end() && s.size() <= kMaxChars; ++it) {
    if (it != v.begin()) s += ", ";
    if (!array) s += scalar(json(it.key())) + ": ";
    s += member(it.value());
  }
  s += array ? "]" : "}";
  if (cut(s)) {
    const char* noun = array ? (v.size() == 1 ? "value" : "values") : (v.size() == 1 ? "key" : "keys");
    s += fmt::format(" ({} of {} {})", array ? "an array" : "an object", v.size(), noun);
  }
  return s;
}

void check_json_depth(const json& v, std::string_view where, size_t max_depth) {
  // Depth-first with an explicit stack of (container, next member); the stack is the path to the current
  // value, which the message spells out.
  struct Frame {
    const json* container;
    json::const_iterator next;
  };
  if (!v.is_structured()) return;
  std::vector<Frame> stack{{&v, v.cbegin()}};
  while (!stack.empty()) {
    Frame& f = stack.back();
    if (f.next == f.container->cend()) {
      stack.pop_back();
      continue;
    }
    const json& child = *f.next++;
    if (!child.is_structured()) continue;
    if (stack.size() == max_depth) {
      std::string path;
      for (const Frame& p : stack) {
        if (path.size() > kMaxChars) {
          path += "...";
          break;
        }
        auto at = std::prev(p.next);
        path += p.container->is_array() ? fmt::format("[{}]", at - p.container->cbegin())
                                        : fmt::format("[{}]", scalar(json(at.key())));
      }
      fail("{}: the value at {} nests arrays and objects more than {} levels deep", where, path, max_depth);
    }
    stack.push_back({&child, child.cbegin()});
  }
}

namespace {

// Builds the DOM as nlohmann's own SAX DOM parser does, checking keys and depth as it goes. (nlohmann's
// parse callback, which did this before, rescans the enclosing object at every inner object's end: a
// safetensors header of 90,000 tensors took 45 s.)
class CheckedDomBuilder {
 public:
  CheckedDomBuilder(json& root, std::string_view where, size_t max_depth)
      : root_(root), where_(where), max_depth_(max_depth) {}

  bool null() { return put(json(nullptr)); }
  bool boolean(bool v) { return put(json(v)); }
  bool number_integer(json::number_integer_t v) { return put(json(v)); }
  bool number_unsigned(json::number_unsigned_t v) { return put(json(v)); }
  bool number_float(json::number_float_t v, const std::string& text) {
    // An integer literal arrives here when it does not fit 64 bits; as a double it would silently become
    // another number (123456789012345678901234567890 → 1.2345678901234568e29).
    SEEK_CHECK(text.find_first_of(".eE") != std::string::npos,
               "{}: the integer {} at {} does not fit in 64 bits, so it would be read as an approximation "
               "(where text is allowed, as for a problem's answer, write it as a string)",
               where_, text.size() > 40 ? text.substr(0, 40) + "..." : text,
               path().empty() ? "the top" : path());
    return put(json(v));
  }
  bool string(json::string_t& v) { return put(json(std::move(v))); }
  bool binary(json::binary_t& v) { return put(json::binary(std::move(v))); }
  bool start_object(size_t) { return open(json::object()); }
  bool start_array(size_t) { return open(json::array()); }
  bool end_object() { return close(); }
  bool end_array() { return close(); }
  bool key(json::string_t& k) {
    Open& top = stack_.back();
    const bool again = top.value->contains(k);  // the object's own map holds the keys so far
    top.key = std::move(k);
    if (again) fail("{}: key \"{}\" appears more than once", where_, path());
    return true;
  }
  bool parse_error(size_t, const std::string&, const nlohmann::detail::exception& e) {
    // Thrown as the type it is, as json::parse throws it.
    switch ((e.id / 100) % 100) {
      case 1:
        throw *static_cast<const json::parse_error*>(&e);
      case 4:
        throw *static_cast<const json::out_of_range*>(&e);
      default:
        throw *static_cast<const json::other_error*>(&e);
    }
  }

 private:
  struct Open {
    json* value;
    std::string key;  // objects: the member being read
  };

  json* place(json&& v) {
    if (stack_.empty()) {
      root_ = std::move(v);
      return &root_;
    }
    json& parent = *stack_.back().value;
    if (parent.is_array()) {
      parent.push_back(std::move(v));
      return &parent.back();
    }
    json& slot = parent[stack_.back().key];
    slot = std::move(v);
    return &slot;
  }
  bool put(json&& v) {
    place(std::move(v));
    return true;
  }
  bool open(json&& container) {
    if (stack_.size() == max_depth_)
      fail("{}: the value at {} nests arrays and objects more than {} levels deep", where_, path(),
           max_depth_);
    json* at = place(std::move(container));
    stack_.push_back({at, {}});
    return true;
  }
  bool close() {
    stack_.pop_back();
    return true;
  }
  // "rope_scaling.factor", "[]" for array members; cut past ~60 characters.
  std::string path() const {
    std::string p;
    for (const Open& o : stack_) {
      if (p.size() > kMaxChars) return p + "...";
      if (o.value->is_array()) {
        p += "[]";
        continue;
      }
      if (!p.empty()) p += '.';
      p += o.key;
    }
    return p;
  }

  json& root_;
  std::string_view where_;
  size_t max_depth_;
  std::vector<Open> stack_;
};

}  // namespace

json parse_json_unique_keys(std::string_view text, std::string_view where, size_t max_depth) {
  // nlohmann's parser takes a NUL byte for the end of the text, so what followed one (a safetensors header's
  // later entries) was dropped without a word.
  if (const size_t nul = text.find('\0'); nul != std::string_view::npos)
    fail("{}: a NUL byte at offset {}, which JSON text cannot hold", where, nul);
  json root;
  CheckedDomBuilder builder(root, where, max_depth);
  json::sax_parse(text.begin(), text.end(), &builder);
  return root;
}

std::string json_error_text(const std::exception& e, bool one_line) {
  std::string text = e.what();
  if (text.starts_with("[json.exception.")) {
    const size_t end = text.find("] ");
    if (end != std::string::npos) text.erase(0, end + 2);
  }
  if (one_line) {
    const std::string first_line = "at line 1, column ";
    if (const size_t at = text.find(first_line); at != std::string::npos)
      text.replace(at, first_line.size(), "at column ");
  }
  return escape_invalid_utf8(text);
}

}  // namespace seek
