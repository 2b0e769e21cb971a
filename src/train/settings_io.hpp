// Reading and writing run settings structs as JSON from their one field table: `settings.for_each_field(f)`
// calls f("key", field) for every field. Unknown keys and wrong types are errors naming the key and the
// source.
#pragma once
#include <nlohmann/json.hpp>

#include <algorithm>
#include <set>
#include <string>
#include <type_traits>
#include <vector>

#include "core/error.hpp"
#include "core/untrusted_json.hpp"

namespace seek {

template <typename S>
S settings_from_json(const nlohmann::json& j, const std::string& source) {
  SEEK_CHECK(j.is_object(), "{}: run settings must be a JSON object", source);
  // JSON-valued settings (rewards, task options) are copied below, which recurses per nesting level.
  check_json_depth(j, source);
  S s;
  std::set<std::string> known;
  s.for_each_field([&](const char* key, auto& field) {
    known.insert(key);
    if (!j.contains(key) || j[key].is_null()) return;
    using V = std::decay_t<decltype(field)>;
    const nlohmann::json& v = j[key];
    bool ok = true;
    if constexpr (std::is_same_v<V, bool>) {
      ok = v.is_boolean();
    } else if constexpr (std::is_integral_v<V>) {
      ok = v.is_number_integer() || v.is_number_unsigned();
    } else if constexpr (std::is_floating_point_v<V>) {
      ok = v.is_number();
    } else if constexpr (std::is_same_v<V, std::string>) {
      ok = v.is_string();
    } else if constexpr (std::is_same_v<V, std::vector<std::string>>) {
      ok = v.is_string() ||
           (v.is_array() && std::all_of(v.begin(), v.end(), [](auto& e) { return e.is_string(); }));
    }
    SEEK_CHECK(ok, "{}: setting \"{}\" has the wrong type: {}", source, key, describe_json(v));
    if constexpr (std::is_same_v<V, std::vector<std::string>>) {
      field = v.is_string() ? V{v.template get<std::string>()} : v.template get<V>();
    } else {
      field = v.template get<V>();
    }
  });
  for (auto it = j.begin(); it != j.end(); ++it)
    SEEK_CHECK(known.count(it.key()), "{}: unknown setting \"{}\"", source, it.key());
  return s;
}

template <typename S>
nlohmann::json settings_to_json(const S& s) {
  nlohmann::json j = nlohmann::json::object();
  S copy = s;
  copy.for_each_field([&](const char* key, auto& field) { j[key] = field; });
  return j;
}

}  // namespace seek
