#include "core/untrusted_json.hpp"

#include <fmt/format.h>

#include <climits>
#include <cmath>
#include <set>
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

}  // namespace

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

json parse_json_unique_keys(std::string_view text, std::string_view where) {
  // The open arrays and objects, outermost first: an object's keys so far, and the last one for the path.
  struct Open {
    bool object;
    std::set<std::string> keys;
    std::string last;
  };
  std::vector<Open> open;
  auto note = [&](int, json::parse_event_t ev, json& parsed) {
    using E = json::parse_event_t;
    if (ev == E::object_start || ev == E::array_start) {
      open.push_back({ev == E::object_start, {}, {}});
    } else if (ev == E::object_end || ev == E::array_end) {
      open.pop_back();
    } else if (ev == E::key) {
      Open& top = open.back();
      top.last = parsed.get<std::string>();
      if (!top.keys.insert(top.last).second) {
        std::string path;
        for (const Open& o : open) {
          if (!o.object) {
            path += "[]";
            continue;
          }
          if (!path.empty()) path += '.';
          path += o.last;
        }
        fail("{}: key \"{}\" appears more than once", where, path);
      }
    }
    return true;
  };
  return json::parse(text.begin(), text.end(), note);
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
  return text;
}

}  // namespace seek
