#include "cli/output_file.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <nlohmann/json.hpp>

#include <filesystem>
#include <set>
#include <system_error>

#include "core/atomic_file.hpp"
#include "core/error.hpp"
#include "core/read_file.hpp"
#include "io/tensor_store.hpp"

namespace seek::cli {

namespace fs = std::filesystem;

bool same_file(const fs::path& a, const fs::path& b) {
  std::error_code ec;
  return fs::equivalent(a, b, ec) && !ec;  // false when either is missing
}

namespace {

// The shards a model folder's weight index names: wherever it says, in a subfolder or without
// ".safetensors". Read leniently: what is wrong with the index is the loader's to report.
std::set<std::string> indexed_shards(const fs::path& dir) {
  std::error_code ec;
  const fs::path index = dir / "model.safetensors.index.json";
  if (!fs::is_regular_file(index, ec)) return {};
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(read_index_text(index), nullptr, /*allow_exceptions=*/false);
  } catch (const Error&) {
    return {};
  }
  if (!j.is_object() || !j.contains("weight_map") || !j["weight_map"].is_object()) return {};
  std::set<std::string> shards;  // V3's index names 163 files 90,000 times
  for (const auto& [tensor, shard] : j["weight_map"].items())
    if (shard.is_string()) shards.insert(shard.get<std::string>());
  return shards;
}

// The files of a model folder that its loaders read by name, present or not.
// tokenizer.model, vocab.json and merges.txt too: a folder holding one but no tokenizer.json is refused
// (load_tokenizer), so an output under that name would stop a byte-level model from loading.
constexpr const char* kModelFolderFiles[] = {
    "config.json",    "generation_config.json", "model.safetensors", "model.safetensors.index.json",
    "tokenizer.json", "tokenizer_config.json",  "tokenizer.model",   "vocab.json",
    "merges.txt"};

void check_output_is_not_an_input(const std::string& path, const std::string& flag,
                                  const std::vector<std::string>& model_dirs,
                                  const std::vector<std::string>& inputs) {
  std::error_code ec;
  if (path.empty()) return;
  const fs::path out(path);
  if (!fs::exists(out, ec)) {
    // A new file cannot be an input, but one at a name a model folder's loaders read (its
    // generation_config.json, a weight index beside model.safetensors, a shard the index names) would be
    // read by the next load as part of the model, which a file of logits breaks.
    const fs::path out_folder = out.has_parent_path() ? out.parent_path() : fs::path(".");
    for (const std::string& dir : model_dirs) {
      if (dir.empty() || !fs::is_directory(fs::path(dir), ec)) continue;
      std::vector<fs::path> read(std::begin(kModelFolderFiles), std::end(kModelFolderFiles));
      for (const std::string& shard : indexed_shards(dir)) read.emplace_back(shard);
      for (const fs::path& name : read) {
        const fs::path at = fs::path(dir) / name;
        SEEK_CHECK(out.filename() != at.filename() || !same_file(out_folder, at.parent_path()),
                   "{} {} would be {}, which loading the model in {} reads; writing it there would break "
                   "the model. Give another file name",
                   flag, path, at.string(), dir);
      }
    }
    return;
  }
  for (const std::string& in : inputs)
    SEEK_CHECK(in.empty() || !same_file(path, in),
               "{} {} is the input file {}; writing it would destroy it. Give another output file", flag,
               path, in);
  for (const std::string& dir : model_dirs) {
    if (dir.empty() || !fs::is_directory(fs::path(dir), ec)) continue;
    const auto refuse_if_same = [&](const fs::path& read) {
      SEEK_CHECK(!same_file(path, read),
                 "{} {} is {}, which this command reads; writing it would destroy the model. Give another "
                 "output file",
                 flag, path, read.string());
    };
    for (const fs::directory_entry& e : fs::directory_iterator(dir, ec)) {
      const fs::path ext = e.path().extension();
      if (ext == ".json" || ext == ".safetensors") refuse_if_same(e.path());
    }
    for (const std::string& shard : indexed_shards(dir)) refuse_if_same(fs::path(dir) / shard);
  }
}

}  // namespace

void check_output_path(const std::string& path, const std::string& flag,
                       const std::vector<std::string>& model_dirs, const std::vector<std::string>& inputs) {
  SEEK_CHECK(!path.empty(), "{} is empty; give the file to write", flag);
  // Where '-' is standard input (--file -), it would be read as standard output here, but it wrote a file
  // named "-".
  SEEK_CHECK(path != "-",
             "{} - would write a file named '-': this command writes its output to a file, not to standard "
             "output; give a file name (./- if you mean that name)",
             flag);
  const fs::path p(path);
  // Error-code forms throughout: a path that cannot be looked at (a folder without search permission, a
  // loop of links, a name too long) is the user's to fix, not an internal error.
  std::error_code ec;
  // No example name: the commands write different kinds of file (.npy, .jsonl).
  SEEK_CHECK(!fs::is_directory(p, ec), "{} {} is a folder; give the name of a file in it", flag, path);
  // "x.npy/" names a folder x.npy, which would be reported as missing: the slash is the slip.
  SEEK_CHECK(p.has_filename(), "{} {} ends with '/', so it names a folder; give a file name", flag, path);
  const fs::path parent = p.has_parent_path() ? p.parent_path() : fs::path(".");
  if (!fs::is_directory(parent, ec)) {
    if (ec && ec != std::errc::no_such_file_or_directory && ec != std::errc::not_a_directory)
      fail("{} {}: cannot use the folder {}: {}", flag, path, parent.string(), ec.message());
    // Some part of the folder's path may exist as a file ("out.npy/x.npy" after out.npy was written).
    fs::path file;
    for (fs::path q = parent; !q.empty() && file.empty();
         q = q.has_relative_path() ? q.parent_path() : fs::path())
      if (fs::exists(fs::symlink_status(q, ec)) && !fs::is_directory(q, ec)) file = q;
    SEEK_CHECK(file.empty(), "{} {}: {} is a file, not a folder", flag, path, file.string());
    fail("{} {}: the folder {} does not exist; create it first", flag, path, parent.string());
  }
  SEEK_CHECK(::access(parent.c_str(), W_OK) == 0, "{} {}: the folder {} is not writable", flag, path,
             parent.string());
  check_replaceable(p);  // before the model loads: no device, link or read-only file to find out about later
  // access() lets root through where no file can be made (/proc, /sys): the file is written under a temporary
  // name first, so that name is made once now, or the failure came after the whole job.
  fs::path probe = p;
  probe += ".tmp." + std::to_string(::getpid());
  const int fd = ::open(probe.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0 && errno != EEXIST)
    fail("{} {}: cannot create a file in the folder {}: {}", flag, path, parent.string(),
         std::strerror(errno));
  if (fd >= 0) {
    ::close(fd);
    ::unlink(probe.c_str());
  }
  check_output_is_not_an_input(path, flag, model_dirs, inputs);
}

}  // namespace seek::cli
