// GPT-2's reversible byte <-> unicode mapping: byte-level BPE vocabularies spell every byte as one printable
// character (space is "Ġ", newline "Ċ"), so a token string maps back to raw bytes.
#pragma once
#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace seek::tok {

// Code point that stands for byte b.
uint32_t byte_to_codepoint(uint8_t b);

// The byte-level spelling of raw bytes (UTF-8 of the mapped code points).
std::string bytes_to_byte_level(std::string_view bytes);

// Raw bytes of a byte-level token string; nullopt if it holds a character outside the mapping.
std::optional<std::string> byte_level_to_bytes(std::string_view token);

}  // namespace seek::tok
