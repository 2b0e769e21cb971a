// JSON values from files and flags we did not write (configs, safetensors headers, tokenizer.json, run
// settings). nlohmann parses and destroys any depth without recursion, but dump(), copies and comparisons
// recurse once per nesting level, so a value nested 100000 deep overflows the stack. Error messages print
// such values with describe_json; readers that copy or walk a value recursively call check_json_depth first.
#pragma once
#include <nlohmann/json.hpp>

#include <cstddef>
#include <cstdint>
#include <exception>
#include <optional>
#include <string>
#include <string_view>

namespace seek {

// For messages: scalars as JSON text ("12", "true", "\"abc\""); arrays and objects with their direct
// members, nested containers shown as [...] or {...}. Longer than ~60 characters: cut with "...", and a cut
// array or object says how many members it has ("[1, 2, 3, ... (an array of 1000 values)"). Never looks more
// than one level into `v`.
std::string describe_json(const nlohmann::json& v);

// A JSON number that is a whole number within int64, as an integer: 12, and also 12.0 (Python writes some
// integers as floats); nullopt for anything else (a fraction, a string, a value past int64).
std::optional<int64_t> json_whole_number(const nlohmann::json& v);

// `object`[key] as a bool: `dflt` when the key is absent or null; anything but true or false throws
// seek::Error "<where>: <key> must be true or false, got <value>" (ignored, a "yes" read as the default).
bool json_flag(const nlohmann::json& object, const char* key, bool dflt, std::string_view where);

// nlohmann's message for a parse (or other JSON) error, for our messages: without its
// "[json.exception.parse_error.101] " tag, and for text that is one line (a JSONL record, a flag's value)
// "at column 14" instead of "at line 1, column 14", which next to the file's own line number read as two.
std::string json_error_text(const std::exception& e, bool one_line = false);

// Far deeper than any real config, header or tokenizer.json (those nest fewer than 10 levels), and shallow
// enough that recursing through it costs a few kilobytes of stack.
inline constexpr size_t kMaxJsonDepth = 64;

// Throws seek::Error naming `where` and the path to the first value that nests arrays and objects more than
// `max_depth` levels deep. Iterative, so it is safe on any input.
void check_json_depth(const nlohmann::json& v, std::string_view where, size_t max_depth = kMaxJsonDepth);

// json::parse (throwing its parse_error on bad syntax, out_of_range on a number past double), except that a
// key appearing twice in one object throws seek::Error naming `where` and the key's path
// ("rope_scaling.factor"): nlohmann keeps the last value silently, and a file with two values for one key was
// written by something broken. Nesting deeper than `max_depth` throws seek::Error while parsing, before the
// value takes memory (and so that no later copy of it recurses that deep), and so does an integer literal
// past 64 bits (nlohmann would hold it as a nearby double). Linear in the text's length.
nlohmann::json parse_json_unique_keys(std::string_view text, std::string_view where,
                                      size_t max_depth = kMaxJsonDepth);

}  // namespace seek
