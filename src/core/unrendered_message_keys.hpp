// Keys of a chat message that carry part of its turn where seek's chat rendering has no place for them (it
// renders role and content only): a tool call's turn, or a reasoning field, would be dropped without a word.
#pragma once
#include <string_view>

#include <nlohmann/json.hpp>

namespace seek {

// The first such key message `m` carries, or nullptr. null, "", [], {} and false carry nothing, as exports of
// plain turns often have them.
inline const char* unrendered_message_key(const nlohmann::json& m) {
  const auto carries = [](const nlohmann::json& v) {
    if (v.is_string()) return !v.get_ref<const std::string&>().empty();
    if (v.is_array() || v.is_object()) return !v.empty();
    if (v.is_boolean()) return v.get<bool>();
    return !v.is_null();
  };
  for (const char* key : {"tool_calls", "function_call", "reasoning_content", "reasoning", "thinking"})
    if (const auto it = m.find(key); it != m.end() && carries(*it)) return key;
  return nullptr;
}

// What to do instead, for the message of an error about `key`.
inline std::string_view unrendered_message_advice(std::string_view key) {
  return key.find("call") != std::string_view::npos
             ? "write the call into content as the model should read or write it, or leave the record out"
             : "put the reasoning into content as <think>...</think> before the answer";
}

}  // namespace seek
