// Helpers for the built-in tasks (see task_util.hpp).
#include "reward/task_util.hpp"

#include <cctype>

#include "reward/answer_extract.hpp"

namespace seek::reward::detail {

std::string strip_wrappers(std::string_view s) {
  std::string t = trim_copy(s);
  const auto framed = [&](std::string_view open, std::string_view close) {
    return t.size() >= open.size() + close.size() && t.starts_with(open) && t.ends_with(close);
  };
  for (;;) {
    while (!t.empty() && t.back() == '.') t = trim_copy(std::string_view(t).substr(0, t.size() - 1));
    size_t cut = 0;
    if (framed("$", "$") || framed("\"", "\"") || framed("'", "'"))
      cut = 1;
    else if (framed("\\(", "\\)") || framed("\\[", "\\]") || framed("**", "**"))
      cut = 2;
    if (cut == 0) return t;
    t = trim_copy(std::string_view(t).substr(cut, t.size() - 2 * cut));
  }
}

std::optional<int64_t> parse_int_answer(std::string_view s) {
  std::string t = strip_wrappers(s);
  if (t.empty()) return std::nullopt;
  size_t i = 0;
  bool negative = false;
  if (t[0] == '-' || t[0] == '+') {
    negative = t[0] == '-';
    i = 1;
  }
  std::string digits;
  size_t group = 0;  // digits since the last comma (commas must split groups of three)
  bool seen_comma = false;
  size_t first_group = 0;
  for (; i < t.size(); ++i) {
    char c = t[i];
    if (std::isdigit((unsigned char)c)) {
      digits += c;
      ++group;
    } else if (c == ',') {
      if (!seen_comma)
        first_group = group;
      else if (group != 3)
        return std::nullopt;
      if (group == 0) return std::nullopt;
      seen_comma = true;
      group = 0;
    } else {
      return std::nullopt;
    }
  }
  if (digits.empty() || digits.size() > 18) return std::nullopt;
  if (seen_comma && (group != 3 || first_group > 3)) return std::nullopt;
  int64_t v = std::stoll(digits);
  return negative ? -v : v;
}

std::optional<std::vector<int64_t>> parse_int_list(std::string_view s) {
  std::string t = strip_wrappers(s);
  if (t.size() >= 2 && ((t.front() == '[' && t.back() == ']') || (t.front() == '(' && t.back() == ')')))
    t = t.substr(1, t.size() - 2);
  std::vector<int64_t> out;
  size_t i = 0;
  while (i < t.size()) {
    while (i < t.size() && (t[i] == ',' || std::isspace((unsigned char)t[i]))) ++i;
    if (i >= t.size()) break;
    size_t j = i;
    if (t[j] == '-' || t[j] == '+') ++j;
    size_t d = j;
    while (j < t.size() && std::isdigit((unsigned char)t[j])) ++j;
    if (j == d || j - d > 18) return std::nullopt;
    if (j < t.size() && !(t[j] == ',' || std::isspace((unsigned char)t[j]))) return std::nullopt;
    out.push_back(std::stoll(t.substr(i, j - i)));
    i = j;
  }
  if (out.empty()) return std::nullopt;
  return out;
}

std::string join_ints(const std::vector<int64_t>& v, const char* sep) {
  std::string s;
  for (size_t i = 0; i < v.size(); ++i) s += (i ? sep : "") + std::to_string(v[i]);
  return s;
}

const std::vector<std::string_view>& word_list() {
  static const std::vector<std::string_view> words = {
      "cat",       "dog",         "sun",        "map",        "red",          "box",         "cup",
      "hat",       "pen",         "sky",        "tree",       "bird",         "fish",        "lamp",
      "door",      "rain",        "snow",       "moon",       "star",         "book",        "milk",
      "bread",     "apple",       "grape",      "lemon",      "melon",        "house",       "table",
      "chair",     "plant",       "river",      "ocean",      "cloud",        "storm",       "light",
      "night",     "water",       "stone",      "train",      "plane",        "truck",       "horse",
      "tiger",     "zebra",       "eagle",      "whale",      "shark",        "mouse",       "piano",
      "guitar",    "violin",      "garden",     "window",     "bottle",       "candle",      "pencil",
      "rabbit",    "monkey",      "turtle",     "spider",     "butter",       "cheese",      "orange",
      "banana",    "cherry",      "carrot",     "potato",     "tomato",       "pepper",      "castle",
      "bridge",    "forest",      "desert",     "island",     "valley",       "planet",      "rocket",
      "silver",    "golden",      "yellow",     "purple",     "winter",       "summer",      "autumn",
      "spring",    "market",      "school",     "doctor",     "strawberry",   "blueberry",   "raspberry",
      "pineapple", "elephant",    "giraffe",    "kangaroo",   "dolphin",      "penguin",     "octopus",
      "squirrel",  "hedgehog",    "butterfly",  "dragonfly",  "mountain",     "volcano",     "waterfall",
      "rainbow",   "thunder",     "lightning",  "sunshine",   "moonlight",    "notebook",    "backpack",
      "umbrella",  "computer",    "keyboard",   "printer",    "telephone",    "television",  "calendar",
      "chocolate", "sandwich",    "pancake",    "cucumber",   "broccoli",     "mushroom",    "avocado",
      "coconut",   "mississippi", "bookkeeper", "committee",  "balloon",      "coffee",      "address",
      "success",   "tomorrow",    "necessary",  "occasion",   "possession",   "accommodate", "embarrass",
      "parallel",  "millennium",  "assessment", "bell",       "ball",         "tall",        "hill",
      "kiss",      "moss",        "boss",       "pass",       "grass",        "glass",       "class",
      "dress",     "letter",      "little",     "middle",     "puzzle",       "rubber",      "summit",
      "tunnel",    "kitten",      "mitten",     "button",     "cotton",       "pepperoni",   "spaghetti",
      "macaroni",  "vanilla",     "cinnamon",   "ginger",     "garlic",       "onion",       "salad",
      "pizza",     "pasta",       "noodle",     "rice",       "bean",         "corn",        "wheat",
      "barley",    "honey",       "sugar",      "salt",       "refrigerator", "lake",        "pond",
      "sea",       "bay",         "cliff",      "cave",       "canyon",       "meadow",      "prairie",
      "jungle",    "swamp",       "tundra",     "glacier",    "iceberg",      "harbor",      "lighthouse",
      "anchor",    "sailor",      "captain",    "pirate",     "treasure",     "compass",     "lantern",
      "journey",   "adventure",   "mystery",    "riddle",     "wizard",       "dragon",      "knight",
      "princess",  "kingdom",     "village",    "cottage",    "chimney",      "fireplace",   "blanket",
      "pillow",    "mattress",    "curtain",    "carpet",     "ladder",       "hammer",      "screwdriver",
      "wrench",    "bicycle",     "scooter",    "skateboard", "helicopter",   "submarine",   "satellite",
      "telescope", "microscope",  "algebra",    "geometry",   "calculus",     "statistics",  "physics",
      "chemistry", "biology",     "history",    "language",   "grammar",      "sentence",    "paragraph",
      "alphabet",  "vowel",       "consonant",  "syllable"};
  return words;
}

}  // namespace seek::reward::detail
