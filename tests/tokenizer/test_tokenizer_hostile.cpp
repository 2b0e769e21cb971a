// Hostile tokenizer folders: files that are links to nothing, loops, FIFOs or devices; tokenizer.json files
// whose ids contradict each other; tokenizer_config.json values of the wrong kind. Each must be an error
// that names the file and the problem, not a hang, an internal error, or ids that decode to other text.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <future>

#include "core/error.hpp"
#include "core/read_file.hpp"
#include "support/error_of.hpp"
#include "support/temp_dir.hpp"
#include "tokenizer/bpe_tokenizer.hpp"
#include "tokenizer/byte_level.hpp"
#include "tokenizer/pretokenizer.hpp"
#include "tokenizer/regex.hpp"
#include "tokenizer/tokenizer.hpp"
#include "tokenizer/tokenizer_files.hpp"

namespace seek {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;
using test::error_of;

// All 256 byte tokens, "ab" and "abc", and one special added token "<s>" (258).
json tiny_tokenizer() {
  json vocab = json::object();
  for (int b = 0; b < 256; ++b) vocab[tok::bytes_to_byte_level(std::string(1, char(b)))] = b;
  vocab["ab"] = 256;
  vocab["abc"] = 257;
  return json{{"model", {{"type", "BPE"}, {"vocab", vocab}, {"merges", {"a b", "ab c"}}}},
              {"added_tokens", json::array({{{"id", 258}, {"content", "<s>"}, {"special", true}}})},
              {"pre_tokenizer", {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"use_regex", true}}},
              {"decoder", {{"type", "ByteLevel"}}}};
}

std::string load_error(const json& j, const json& cfg = json()) {
  return error_of([&] { tok::BpeTokenizer t(j, cfg, "dir/tokenizer.json"); });
}

void write(const fs::path& p, const std::string& text) {
  std::ofstream(p) << text;
}

#define EXPECT_HAS(text, what) EXPECT_NE((text).find(what), std::string::npos) << (text)

TEST(LoadTokenizerFiles, LinkLoopIsNamedNotAnInternalError) {
  // std::filesystem::exists threw std::filesystem_error, which the CLI reports as an internal error.
  test::TempDir dir("tok-loop");
  fs::create_symlink("tokenizer.json", dir.path / "tokenizer.json");
  EXPECT_HAS(error_of([&] { load_tokenizer(dir.path); }),
             "tokenizer.json: Too many levels of symbolic links");
  fs::remove(dir.path / "tokenizer.json");
  write(dir.path / "tokenizer.json", tiny_tokenizer().dump());
  fs::create_symlink("tokenizer_config.json", dir.path / "tokenizer_config.json");
  EXPECT_HAS(error_of([&] { load_tokenizer(dir.path); }), "tokenizer_config.json: Too many levels");
  EXPECT_HAS(error_of([&] { chat_style_of(dir.path); }), "tokenizer_config.json: Too many levels");
}

TEST(LoadTokenizerFiles, BrokenLinkIsAnErrorNotTheByteTokenizer) {
  // It was read as "no tokenizer.json", so the folder silently got the byte tokenizer.
  test::TempDir dir("tok-dangling");
  fs::create_symlink(dir.path / "gone.json", dir.path / "tokenizer.json");
  EXPECT_HAS(error_of([&] { load_tokenizer(dir.path); }), "gone.json, which does not exist");
}

TEST(LoadTokenizerFiles, DeviceIsRefused) {
  // A link to /dev/zero read gigabytes of zeros before failing; /dev/null read as an empty file.
  test::TempDir dir("tok-device");
  fs::create_symlink("/dev/null", dir.path / "tokenizer.json");
  EXPECT_HAS(error_of([&] { load_tokenizer(dir.path); }), "tokenizer.json is not a regular file");
  fs::remove(dir.path / "tokenizer.json");
  write(dir.path / "tokenizer.json", tiny_tokenizer().dump());
  fs::create_symlink("/dev/zero", dir.path / "tokenizer_config.json");
  EXPECT_HAS(error_of([&] { load_tokenizer(dir.path); }), "tokenizer_config.json is not a regular file");
  EXPECT_HAS(error_of([&] { chat_style_of(dir.path); }), "tokenizer_config.json is not a regular file");
}

TEST(LoadTokenizerFiles, FifoIsRefusedNotWaitedOn) {
  test::TempDir dir("tok-fifo");
  const fs::path fifo = dir.path / "tokenizer.json";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  auto result = std::async(std::launch::async, [&] { return error_of([&] { load_tokenizer(dir.path); }); });
  const bool finished = result.wait_for(std::chrono::seconds(10)) == std::future_status::ready;
  if (!finished) {  // the load waits for a writer: open and close one so that it, and the test, end
    const int fd = ::open(fifo.c_str(), O_WRONLY | O_NONBLOCK);
    if (fd >= 0) ::close(fd);
  }
  EXPECT_TRUE(finished) << "load_tokenizer waited on a FIFO";
  EXPECT_HAS(result.get(), "tokenizer.json is not a regular file");
}

// A folder with another tokenizer's files but no tokenizer.json got the byte-level tokenizer with only a
// note, and generated garbage from a real model's ids; a folder with no tokenizer file at all (seek's own
// byte-level models) still gets it.
TEST(LoadTokenizerFiles, TokenizerFilesWithoutTokenizerJsonAreAnError) {
  test::TempDir dir("tok-no-json");
  EXPECT_EQ(load_tokenizer(dir.path)->vocab_size(), make_byte_tokenizer()->vocab_size());
  write(dir.path / "generation_config.json", "{}");
  EXPECT_EQ(load_tokenizer(dir.path)->vocab_size(), make_byte_tokenizer()->vocab_size());
  write(dir.path / "tokenizer_config.json", R"({"chat_template": "{{ messages }}"})");
  EXPECT_EQ(load_tokenizer(dir.path)->vocab_size(), make_byte_tokenizer()->vocab_size());
  write(dir.path / "tokenizer_config.json", R"({"tokenizer_class": "LlamaTokenizerFast"})");
  EXPECT_HAS(
      error_of([&] { load_tokenizer(dir.path); }),
      dir.path.string() +
          " holds tokenizer_config.json (tokenizer_class \"LlamaTokenizerFast\") but no tokenizer.json");
  write(dir.path / "tokenizer_config.json", "{}");
  write(dir.path / "tokenizer.model", "x");
  EXPECT_HAS(error_of([&] { load_tokenizer(dir.path); }),
             dir.path.string() + " holds tokenizer.model but no tokenizer.json");
  write(dir.path / "tokenizer.json", tiny_tokenizer().dump());
  EXPECT_EQ(load_tokenizer(dir.path)->vocab_size(), 259u);
}

// Tokenizer files are read up to a bound: a sparse file of gigabytes was read whole before being refused,
// and parsing takes many times a file's size in memory.
TEST(LoadTokenizerFiles, AHugeTokenizerFileIsRefusedBeforeItIsRead) {
  test::TempDir dir("tok-huge");
  for (const char* f : {"tokenizer.json", "tokenizer_config.json"}) {
    SCOPED_TRACE(f);
    fs::remove(dir.path / "tokenizer.json");
    write(dir.path / "tokenizer.json", tiny_tokenizer().dump());
    fs::remove(dir.path / f);
    { std::ofstream(dir.path / f) << "{}"; }
    fs::resize_file(dir.path / f, 4LL << 30);
    EXPECT_HAS(error_of([&] { load_tokenizer(dir.path); }),
               (dir.path / f).string() + " holds 4.3 GB, more than 134.2 MB");
    EXPECT_HAS(error_of([&] { tok::read_tokenizer_files(dir.path, {}); }), "holds 4.3 GB");
  }
}

// A trained model's folder gets its tokenizer through read/write_tokenizer_files: fs::copy_file wrote in
// place (a full disk left half a tokenizer.json over the old one, reported as an internal error) and was not
// fsynced; and the files were read at each save, so a tokenizer folder deleted mid-run gave a model without
// one.
TEST(TokenizerFiles, SavesTheFilesAsReadWholeAndNamesProblems) {
  test::TempDir dir("tok-copy");
  const fs::path from = dir.path / "from", to = dir.path / "to";
  fs::create_directories(from);
  fs::create_directories(to);
  write(from / "tokenizer.json", tiny_tokenizer().dump());
  write(to / "tokenizer.json", "old");
  write(to / "tokenizer_config.json", "an earlier export's");
  const tok::TokenizerFileSet set = tok::read_tokenizer_files(from);
  fs::remove_all(from);  // the files as read are saved, whatever happens to the folder
  tok::write_tokenizer_files(set, to);
  EXPECT_EQ(read_file(to / "tokenizer.json"), tiny_tokenizer().dump());
  EXPECT_FALSE(fs::exists(to / "tokenizer_config.json")) << "only the files `from` held";
  EXPECT_TRUE(tok::read_tokenizer_files("").files.empty());  // no tokenizer folder: nothing to save
  // A read-only target is refused by name and left as it was; a broken link in `from` is named when read.
  fs::create_directories(from);
  write(from / "tokenizer_config.json", "{}");
  write(to / "tokenizer_config.json", "keep");
  fs::permissions(to / "tokenizer_config.json", fs::perms::owner_read);
  EXPECT_HAS(error_of([&] { tok::write_tokenizer_files(tok::read_tokenizer_files(from), to); }),
             "tokenizer_config.json");
  fs::permissions(to / "tokenizer_config.json", fs::perms::owner_all);
  EXPECT_EQ(read_file(to / "tokenizer_config.json"), "keep");
  fs::create_symlink(dir.path / "gone.json", from / "tokenizer.json");
  EXPECT_HAS(error_of([&] { tok::read_tokenizer_files(from); }), "gone.json, which does not exist");
}

TEST(ChatStyleOf, ReportsBadConfigAndReadsTheListForm) {
  test::TempDir dir("tok-chat");
  write(dir.path / "tokenizer_config.json", "{ not json");
  EXPECT_HAS(error_of([&] { chat_style_of(dir.path); }), "tokenizer_config.json is not valid JSON");
  write(dir.path / "tokenizer_config.json", R"({"chat_template": 5})");
  EXPECT_HAS(error_of([&] { chat_style_of(dir.path); }), "chat_template must be a string or a list");
  write(dir.path / "tokenizer_config.json", "[]");
  EXPECT_HAS(error_of([&] { chat_style_of(dir.path); }), "expected a JSON object");
  // transformers' list form: the entry named "default" is the template.
  write(dir.path / "tokenizer_config.json",
        R"({"chat_template": [{"name": "tool_use", "template": "x"},
                              {"name": "default", "template": "{{'<｜User｜>'}}{{'<｜Assistant｜><think>\\n'}}"}]})");
  EXPECT_EQ(chat_style_of(dir.path), ChatStyle::R1);
  // An entry that is not one was passed over, as if the list had no default.
  write(dir.path / "tokenizer_config.json", R"({"chat_template": [5]})");
  EXPECT_HAS(error_of([&] { chat_style_of(dir.path); }),
             "chat_template[0] must be an object with a string \"name\" and \"template\", got 5");
  write(dir.path / "tokenizer_config.json", R"({"chat_template": [{"name": "default", "template": 1}]})");
  EXPECT_HAS(error_of([&] { chat_style_of(dir.path); }), "chat_template[0] must be an object");
  fs::remove(dir.path / "tokenizer_config.json");
  EXPECT_EQ(chat_style_of(dir.path), ChatStyle::V3);
}

TEST(BpeTokenizerHostile, PostProcessorIdsMustBeTokens) {
  // The ids were copied unchecked into every encoding with add_special: 999999, -3, or 10^12 cut to int32.
  for (json bad : {json(999999), json(-3), json(1000000000000), json("258"), json(1000)}) {
    auto j = tiny_tokenizer();
    j["post_processor"] = {
        {"type", "TemplateProcessing"},
        {"single",
         {{{"SpecialToken", {{"id", "<s>"}, {"type_id", 0}}}},
          {{"Sequence", {{"id", "A"}, {"type_id", 0}}}}}},
        {"special_tokens", {{"<s>", {{"id", "<s>"}, {"ids", {bad}}, {"tokens", {"<s>"}}}}}}};
    EXPECT_HAS(load_error(j),
               "post_processor.special_tokens[\"<s>\"].ids: " + bad.dump() + " is not a token id");
  }
  // A number where the list belongs was taken for a list of itself.
  auto j = tiny_tokenizer();
  j["post_processor"] = {
      {"type", "TemplateProcessing"},
      {"single",
       {{{"SpecialToken", {{"id", "<s>"}, {"type_id", 0}}}}, {{"Sequence", {{"id", "A"}, {"type_id", 0}}}}}},
      {"special_tokens", {{"<s>", {{"id", "<s>"}, {"ids", 258}, {"tokens", {"<s>"}}}}}}};
  EXPECT_HAS(load_error(j),
             "post_processor.special_tokens[\"<s>\"].ids must be a list of token ids, got 258");
}

// Malformed parts were reported in nlohmann's words, naming no key ("key 'single' not found", "cannot use
// at() with string", "type must be string, but is number"), and a non-boolean flag was read as false: an
// added token "special": "yes" was then not special.
TEST(BpeTokenizerHostile, MalformedPartsAreNamed) {
  const json pieces = {{{"SpecialToken", {{"id", "<s>"}, {"type_id", 0}}}},
                       {{"Sequence", {{"id", "A"}, {"type_id", 0}}}}};
  const json specials = {{"<s>", {{"id", "<s>"}, {"ids", {258}}, {"tokens", {"<s>"}}}}};
  auto with_post = [](json post) {
    auto j = tiny_tokenizer();
    j["post_processor"] = std::move(post);
    return load_error(j);
  };
  EXPECT_HAS(with_post({{"type", "TemplateProcessing"}, {"special_tokens", specials}}),
             "dir/tokenizer.json: post_processor.single must be a list of template pieces, got null");
  EXPECT_HAS(with_post({{"type", "TemplateProcessing"}, {"single", "$A"}, {"special_tokens", specials}}),
             "post_processor.single must be a list of template pieces, got \"$A\"");
  EXPECT_HAS(with_post({{"type", "TemplateProcessing"}, {"single", {"$A"}}, {"special_tokens", specials}}),
             "post_processor.single[0] must be {\"Sequence\": ...} or {\"SpecialToken\": {\"id\": \"...\"}}");
  EXPECT_HAS(with_post({{"type", "TemplateProcessing"}, {"single", pieces}, {"special_tokens", 5}}),
             "post_processor.special_tokens must be an object, got 5");
  EXPECT_HAS(
      with_post({{"type", "TemplateProcessing"}, {"single", pieces}, {"special_tokens", {{"<s>", "x"}}}}),
      "post_processor.special_tokens[\"<s>\"].ids must be a list of token ids, got null");
  EXPECT_HAS(with_post({{"type", 5}}), "post_processor {\"type\": 5} is not supported");
  EXPECT_EQ(with_post({{"type", "TemplateProcessing"}, {"single", pieces}, {"special_tokens", specials}}),
            "");
  auto j = tiny_tokenizer();
  j["decoder"] = {{"type", 5}};
  EXPECT_HAS(load_error(j), "dir/tokenizer.json: decoder {\"type\": 5} is not supported (only ByteLevel)");
  j = tiny_tokenizer();
  j.erase("pre_tokenizer");
  EXPECT_HAS(load_error(j), "pre_tokenizer is missing or null");
  j = tiny_tokenizer();
  j["added_tokens"][0]["special"] = "yes";
  EXPECT_HAS(load_error(j),
             "dir/tokenizer.json: added_tokens[0]: special must be true or false, got \"yes\"");
  j = tiny_tokenizer();
  j["model"]["ignore_merges"] = 1;
  EXPECT_HAS(load_error(j), "dir/tokenizer.json: model: ignore_merges must be true or false, got 1");
  j = tiny_tokenizer();
  j["pre_tokenizer"]["use_regex"] = "no";
  EXPECT_HAS(load_error(j), "use_regex must be true or false, got \"no\"");
  j = tiny_tokenizer();
  j["added_tokens"][0]["special"] = nullptr;  // null: the default, as absent
  EXPECT_EQ(load_error(j), "");
}

// Llama-3's and R1-Distill-Llama's post_processor is a Sequence of ByteLevel and TemplateProcessing: it was
// refused even for plain encoding. Its template is what add_special adds.
TEST(BpeTokenizerHostile, APostProcessorSequenceAddsItsTemplate) {
  const json templ = {
      {"type", "TemplateProcessing"},
      {"single",
       {{{"SpecialToken", {{"id", "<s>"}, {"type_id", 0}}}}, {{"Sequence", {{"id", "A"}, {"type_id", 0}}}}}},
      {"special_tokens", {{"<s>", {{"id", "<s>"}, {"ids", {258}}, {"tokens", {"<s>"}}}}}}};
  const json byte_level = {
      {"type", "ByteLevel"}, {"add_prefix_space", true}, {"trim_offsets", false}, {"use_regex", true}};
  auto j = tiny_tokenizer();
  j["post_processor"] = {{"type", "Sequence"}, {"processors", {byte_level, templ}}};
  tok::BpeTokenizer t(j, json(), "dir/tokenizer.json");
  EXPECT_EQ(t.encode("abc", true), (std::vector<TokenId>{258, 257}));
  EXPECT_EQ(t.encode("abc", false), (std::vector<TokenId>{257}));
  j["post_processor"]["processors"] = {byte_level};
  EXPECT_EQ(tok::BpeTokenizer(j, json(), "dir/tokenizer.json").encode("abc", true),
            (std::vector<TokenId>{257}));
  // Another kind of step, or a second template, is refused by position.
  j["post_processor"]["processors"] = {templ, {{"type", "RobertaProcessing"}}};
  EXPECT_HAS(load_error(j),
             "dir/tokenizer.json: post_processor.processors[1] {\"type\": \"RobertaProcessing\"} is "
             "not supported (supported: ByteLevel steps and one TemplateProcessing)");
  j["post_processor"]["processors"] = {templ, templ};
  EXPECT_HAS(load_error(j), "post_processor.processors[1]");
  j["post_processor"] = {{"type", "Sequence"}};
  EXPECT_HAS(load_error(j), "post_processor of type Sequence needs a \"processors\" list, got null");
}

// BPE dropout makes encoding random: refused as a number above 0, and as anything but a number (a string
// "0.5" was ignored); 0 and null are no dropout.
TEST(LoadTokenizer, DropoutMustBeANumberAndZero) {
  auto j = tiny_tokenizer();
  j["model"]["dropout"] = 0.5;
  EXPECT_HAS(load_error(j), "model.dropout = 0.5 is not supported");
  j["model"]["dropout"] = "0.5";
  EXPECT_HAS(load_error(j), "model.dropout must be a number or null, got \"0.5\"");
  for (json ok : {json(0), json(nullptr)}) {
    j["model"]["dropout"] = ok;
    EXPECT_EQ(load_error(j), "");
  }
}

TEST(BpeTokenizerHostile, AddedTokensMayNotShareIdsOrText) {
  // Each of these loaded, and then an id encoded one text and decoded another.
  auto j = tiny_tokenizer();
  j["added_tokens"].push_back({{"id", 97}, {"content", "<x>"}});  // the byte token "a"
  EXPECT_HAS(load_error(j), "added_tokens[1] (\"<x>\") has id 97, which model.vocab gives to \"a\"");
  j = tiny_tokenizer();
  j["added_tokens"].push_back({{"id", 258}, {"content", "<t>"}});
  EXPECT_HAS(load_error(j), "added_tokens[0] (\"<s>\") and added_tokens[1] (\"<t>\") both have id 258");
  j = tiny_tokenizer();
  j["added_tokens"].push_back({{"id", 259}, {"content", "<s>"}});
  EXPECT_HAS(load_error(j), "added_tokens[0] and added_tokens[1] are both \"<s>\" (ids 258 and 259)");
  // The same text as the vocabulary entry at that id is how Hugging Face files list them: fine.
  j = tiny_tokenizer();
  j["added_tokens"].push_back({{"id", 256}, {"content", "ab"}});
  EXPECT_EQ(load_error(j), "");
}

// An added token with empty content failed the whole file; Hugging Face leaves it out (it matches nowhere).
// A model.unk_token that is neither a string nor null was ignored without a word, leaving the model without
// its unk token (Hugging Face refuses the file).
TEST(BpeTokenizerHostile, EmptyAddedTokensAreLeftOutAndTheUnkTokenMustBeAString) {
  auto j = tiny_tokenizer();
  j["added_tokens"].push_back({{"id", 259}, {"content", ""}, {"special", true}});
  tok::BpeTokenizer t(j, json(), "dir/tokenizer.json");
  EXPECT_EQ(t.encode("ab<s>"), (std::vector<TokenId>{256, 258}));
  EXPECT_EQ(t.token_to_id(""), std::nullopt);
  j["added_tokens"].back()["content"] = 5;  // a content that is not a string is still an error
  EXPECT_HAS(load_error(j), "added_tokens[1] = {\"content\": 5, \"id\": 259, \"special\": true}: needs");
  for (json bad : {json(5), json::array({"<unk>"}), json(false)}) {
    j = tiny_tokenizer();
    j["model"]["unk_token"] = bad;
    EXPECT_HAS(load_error(j),
               "dir/tokenizer.json: model.unk_token must be a string or null, got " + bad.dump());
  }
  j = tiny_tokenizer();
  j["model"]["unk_token"] = nullptr;
  EXPECT_EQ(load_error(j), "");
}

TEST(BpeTokenizerHostile, LongAddedTokensAreRefused) {
  // Matching tries each added token at every text position: a 200 KB token made 200 KB of text take minutes.
  auto j = tiny_tokenizer();
  j["added_tokens"].push_back({{"id", 259}, {"content", std::string(300, 'a') + "b"}});
  EXPECT_HAS(load_error(j),
             "added_tokens[1] is 301 bytes long; added tokens of at most 256 bytes are supported");
  j = tiny_tokenizer();
  j["added_tokens"].push_back({{"id", 259}, {"content", std::string(256, 'a')}});
  EXPECT_EQ(load_error(j), "");
}

TEST(BpeTokenizerHostile, ConfigTokensAreCheckedNotIgnored) {
  const auto j = tiny_tokenizer();
  // A BOS the vocabulary lacks left add_bos_token adding nothing, without a word.
  EXPECT_HAS(load_error(j, {{"bos_token", "<nope>"}, {"add_bos_token", true}}),
             "dir/tokenizer_config.json: bos_token \"<nope>\" is not a token of dir/tokenizer.json");
  EXPECT_HAS(load_error(j, {{"eos_token", {{"content", "</s>"}}}}), "eos_token \"</s>\" is not a token");
  EXPECT_HAS(load_error(j, {{"bos_token", 5}}),
             "dir/tokenizer_config.json: bos_token must be a string or an object with a string \"content\"");
  EXPECT_HAS(load_error(j, {{"bos_token", "<s>"}, {"add_bos_token", "yes"}}),
             "add_bos_token must be true or false, got \"yes\"");
  EXPECT_HAS(load_error(j, json::array()), "dir/tokenizer_config.json: expected a JSON object");
  // add_bos_token / add_eos_token set where the tokenizer has no such token added nothing, without a word.
  EXPECT_HAS(load_error(j, {{"add_bos_token", true}}),
             "dir/tokenizer_config.json: add_bos_token is true but the tokenizer has no bos_token (none is "
             "named, and <｜begin▁of▁sentence｜> is not in the vocabulary)");
  EXPECT_HAS(load_error(j, {{"add_bos_token", false}, {"add_eos_token", true}}),
             "add_eos_token is true but the tokenizer has no eos_token");
  EXPECT_EQ(load_error(j, {{"add_bos_token", false}, {"add_eos_token", false}}), "");
  tok::BpeTokenizer t(j,
                      {{"bos_token", {{"__type", "AddedToken"}, {"content", "<s>"}}},
                       {"pad_token", nullptr},
                       {"add_bos_token", true},
                       {"add_eos_token", nullptr}},
                      "tokenizer.json");
  EXPECT_EQ(t.encode("abc", true), (std::vector<TokenId>{258, 257}));
}

// A flag left out takes its class's default, as transformers has it: LlamaTokenizerFast adds BOS unless told
// not to (a config giving only add_eos_token, or neither, added no BOS here); an explicit null is false;
// other classes add nothing unasked.
TEST(BpeTokenizerHostile, ALeftOutAddBosTokenTakesItsClassDefault) {
  const auto j = tiny_tokenizer();
  const auto encode = [&](const json& cfg) {
    return tok::BpeTokenizer(j, cfg, "tokenizer.json").encode("abc", true);
  };
  const json eos_only = {{"bos_token", "<s>"}, {"eos_token", "<s>"}, {"add_eos_token", true}};
  auto llama = eos_only;
  llama["tokenizer_class"] = "LlamaTokenizerFast";
  EXPECT_EQ(encode(llama), (std::vector<TokenId>{258, 257, 258}));
  llama["add_bos_token"] = false;
  EXPECT_EQ(encode(llama), (std::vector<TokenId>{257, 258}));
  llama["add_bos_token"] = nullptr;  // None in transformers: false
  EXPECT_EQ(encode(llama), (std::vector<TokenId>{257, 258}));
  // Neither flag: the class still rebuilds the post-processor, with its defaults (BOS, no EOS).
  const json neither = {{"tokenizer_class", "LlamaTokenizerFast"}, {"bos_token", "<s>"}};
  EXPECT_EQ(encode(neither), (std::vector<TokenId>{258, 257}));
  auto other = eos_only;
  other["tokenizer_class"] = "PreTrainedTokenizerFast";
  EXPECT_EQ(encode(other), (std::vector<TokenId>{257, 258}));
  EXPECT_EQ(encode(eos_only), (std::vector<TokenId>{257, 258}));
}

// With ignore_merges a word in the vocabulary is one token; the lookup is by the byte-level spelling, which a
// vocabulary entry outside the byte map (中, not its spelling ä¸Ń) cannot have, so the text 中 is its bytes.
TEST(BpeTokenizerHostile, IgnoreMergesLooksWordsUpByTheirByteLevelSpelling) {
  auto j = tiny_tokenizer();
  j["model"]["ignore_merges"] = true;
  j["model"]["vocab"]["中"] = 259;
  tok::BpeTokenizer t(j, json(), "tokenizer.json");
  EXPECT_EQ(t.encode("abc", false), (std::vector<TokenId>{257}));
  EXPECT_EQ(t.encode("中", false), (std::vector<TokenId>{0xE4, 0xB8, 0xAD}));
}

TEST(BpeTokenizerHostile, BackslashCIsRefused) {
  // \C matches one byte, so it cut characters in two and later stages matched invalid UTF-8.
  auto j = tiny_tokenizer();
  j["pre_tokenizer"] = json::parse(R"({"type": "Sequence", "pretokenizers": [
      {"type": "Split", "pattern": {"Regex": "\\C"}, "behavior": "Isolated"},
      {"type": "Split", "pattern": {"Regex": "\\p{L}+"}, "behavior": "Isolated"},
      {"type": "ByteLevel", "use_regex": false}]})");
  EXPECT_HAS(load_error(j), "pre_tokenizer.pretokenizers[0].pattern: cannot compile regex /\\C/");
}

TEST(BpeTokenizerHostile, PatternFailingWhileEncodingNamesTheFile) {
  // The error named the pattern only: which of the model's, the training run's or --tokenizer's files?
  auto j = tiny_tokenizer();
  j["pre_tokenizer"] = json::parse(R"({"type": "Sequence", "pretokenizers": [
      {"type": "Split", "pattern": {"Regex": "(a+)+$"}, "behavior": "Isolated"},
      {"type": "ByteLevel", "add_prefix_space": false, "use_regex": false}]})");
  tok::BpeTokenizer t(j, json(), "dir/tokenizer.json");
  EXPECT_EQ(t.encode("aab"), (std::vector<TokenId>{'a', 256}));
  const std::string error = error_of([&] { t.encode(std::string(40, 'a') + "b"); });
  EXPECT_HAS(error, "dir/tokenizer.json: regex /(a+)+$/ failed on a 41-byte input: match limit exceeded");
}

TEST(BpeTokenizerHostile, PatternFailingAtLoadNamesTheEntry) {
  // Loading runs the patterns on short texts of seek's own; a recursive pattern exhausts PCRE2's stack
  // there, and the error spoke only of "a 2-byte input" the user never gave.
  auto j = tiny_tokenizer();
  j["pre_tokenizer"] = json::parse(R"json({"type": "Sequence", "pretokenizers": [
      {"type": "Split", "pattern": {"Regex": "(?R)"}, "behavior": "Isolated"},
      {"type": "ByteLevel", "add_prefix_space": false, "use_regex": false}]})json");
  EXPECT_HAS(load_error(j),
             "tokenizer.json: pre_tokenizer: a pattern fails when run (seek tries each on short texts as it "
             "loads): regex /(?R)/ failed on a ");
}

TEST(Regex, LongWhitespaceRunsStayWithinTheMatchLimit) {
  // DeepSeek-V3's whitespace alternatives take a step per character to give back a run of spaces, so PCRE2's
  // fixed limit of 10 million steps made 10 MB of spaces an error ("match limit exceeded").
  tok::Regex re("\\s*[\r\n]+|\\s+(?!\\S)|\\s+");
  const std::string text = std::string(12'000'000, ' ') + "a";
  size_t b = 0, e = 0;
  EXPECT_EQ(error_of([&] { EXPECT_TRUE(re.find(text, 0, &b, &e, false)); }), "");
  EXPECT_EQ(e, text.size() - 2);
  // Exponential backtracking is still stopped, and quickly.
  tok::Regex bad("(a+)+$");
  const std::string aaab = std::string(40, 'a') + "b";
  EXPECT_HAS(error_of([&] { bad.find(aaab, 0, &b, &e, false); }), "match limit exceeded");
}

}  // namespace
}  // namespace seek
