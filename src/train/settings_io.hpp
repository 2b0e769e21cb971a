// Reading and writing run settings structs as JSON from their one field table: `settings.for_each_field(f)`
// calls f("key", field) for every field. Unknown keys and wrong types are errors naming the key and the
// source.
#pragma once
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <set>
#include <string>
#include <type_traits>
#include <vector>

#include "core/error.hpp"
#include "core/nearest_name.hpp"
#include "core/untrusted_json.hpp"

namespace seek {

// Whether the JSON integer v is a value of the integer type V.
template <typename V>
bool json_integer_fits(const nlohmann::json& v) {
  if (v.is_number_unsigned()) return v.get<uint64_t>() <= uint64_t(std::numeric_limits<V>::max());
  const int64_t i = v.get<int64_t>();
  if constexpr (std::is_unsigned_v<V>) {
    return i >= 0 && uint64_t(i) <= uint64_t(std::numeric_limits<V>::max());
  } else {
    return i >= int64_t(std::numeric_limits<V>::min()) && i <= int64_t(std::numeric_limits<V>::max());
  }
}

template <typename S>
S settings_from_json(const nlohmann::json& j, const std::string& source) {
  SEEK_CHECK(j.is_object(), "{}: run settings must be a JSON object", source);
  // JSON-valued settings (rewards, task options) are copied below, which recurses per nesting level.
  check_json_depth(j, source);
  S s;
  std::set<std::string> known;
  s.for_each_field([&](const char* key, auto& field) {
    known.insert(key);
    if (!j.contains(key)) return;
    using V = std::decay_t<decltype(field)>;
    // A whole number written as a float (1e3, 1000.0: what Python's json writes for a float) is that integer.
    // One past int64 (a seed of 1e19) is a uint64 still; further out the range check below names the range
    // ({"batch_size": 1e30} was "must be a whole number", which it is).
    nlohmann::json whole;
    if constexpr (std::is_integral_v<V> && !std::is_same_v<V, bool>)
      if (j[key].is_number_float()) {
        const double d = j[key].get<double>();
        if (const auto w = json_whole_number(j[key])) {
          whole = *w;
        } else if (std::isfinite(d) && std::floor(d) == d) {
          SEEK_CHECK(d >= 0 && d < 18446744073709551616.0,
                     "{}: setting \"{}\" must be a whole number from {} to {}, got {}", source, key,
                     std::numeric_limits<V>::min(), std::numeric_limits<V>::max(), j[key].dump());
          whole = uint64_t(d);
        }
      }
    const nlohmann::json& v = whole.is_null() ? j[key] : whole;
    // null used to mean the default, so {"lr": null} trained at a learning rate nobody chose; the default is
    // what leaving the key out means.
    SEEK_CHECK(!v.is_null(), "{}: setting \"{}\" is null; give a value, or leave the key out for the default",
               source, key);
    bool ok = true;
    if constexpr (std::is_same_v<V, bool>) {
      ok = v.is_boolean();
    } else if constexpr (std::is_integral_v<V>) {
      ok = v.is_number_integer() || v.is_number_unsigned();
      // get<V>() wraps or truncates what V cannot hold: {"seed": -5} was 18446744073709551611.
      if (ok)
        SEEK_CHECK(json_integer_fits<V>(v), "{}: setting \"{}\" must be a whole number from {} to {}, got {}",
                   source, key, std::numeric_limits<V>::min(), std::numeric_limits<V>::max(), v.dump());
    } else if constexpr (std::is_same_v<V, nlohmann::json>) {
      // The JSON-valued settings (rewards, task_options) are objects or arrays; said here, where the file is
      // known, rather than by a later check that cannot name it.
      SEEK_CHECK(v.is_object() || v.is_array(), "{}: setting \"{}\" must be a JSON object or array, got {}",
                 source, key, describe_json(v));
    } else if constexpr (std::is_floating_point_v<V>) {
      ok = v.is_number();
    } else if constexpr (std::is_same_v<V, std::string>) {
      ok = v.is_string();
    } else if constexpr (std::is_same_v<V, std::vector<std::string>>) {
      ok = v.is_string() ||
           (v.is_array() && std::all_of(v.begin(), v.end(), [](auto& e) { return e.is_string(); }));
    }
    // What the key takes, not only that the value is wrong ({"steps": "1"} said "has the wrong type: \"1\"").
    const char* expected = std::is_same_v<V, bool>                       ? "true or false"
                           : std::is_integral_v<V>                       ? "a whole number"
                           : std::is_floating_point_v<V>                 ? "a number"
                           : std::is_same_v<V, std::string>              ? "a string"
                           : std::is_same_v<V, std::vector<std::string>> ? "a string or a list of strings"
                                                                         : "a JSON object or array";
    SEEK_CHECK(ok, "{}: setting \"{}\" must be {}, got {}", source, key, expected, describe_json(v));
    if constexpr (std::is_same_v<V, std::vector<std::string>>) {
      field = v.is_string() ? V{v.template get<std::string>()} : v.template get<V>();
    } else {
      field = v.template get<V>();
    }
  });
  for (auto it = j.begin(); it != j.end(); ++it) {
    if (known.count(it.key())) continue;
    // A model's config.json given where run settings go fails on its first key, which says nothing useful.
    for (const char* model_key : {"hidden_size", "num_hidden_layers", "architectures", "model_type"})
      SEEK_CHECK(!j.contains(model_key) || known.count(model_key),
                 "{}: this is a model's config.json (it has \"{}\"), not run settings: {}", source, model_key,
                 known.count("config") ? "give it with --config (or a model folder with --init)"
                                       : "give the model's folder with --init");
    const std::vector<std::string> names(known.begin(), known.end());
    const std::string near = nearest_name(it.key(), names);
    fail("{}: unknown setting \"{}\"{}", source, it.key(),
         near.empty() ? "" : fmt::format("; did you mean \"{}\"?", near));
  }
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
