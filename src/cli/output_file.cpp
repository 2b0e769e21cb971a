#include "cli/output_file.hpp"

#include <filesystem>
#include <system_error>

#include "core/error.hpp"

namespace seek::cli {

namespace fs = std::filesystem;

namespace {

bool same_file(const fs::path& a, const fs::path& b) {
  std::error_code ec;
  return fs::equivalent(a, b, ec) && !ec;  // false when either is missing
}

}  // namespace

void check_output_is_not_an_input(const std::string& path, const std::string& flag,
                                  const std::vector<std::string>& model_dirs,
                                  const std::vector<std::string>& inputs) {
  std::error_code ec;
  if (path.empty() || !fs::exists(fs::path(path), ec)) return;  // a new file cannot be an input
  for (const std::string& in : inputs)
    SEEK_CHECK(in.empty() || !same_file(path, in),
               "{} {} is the input file {}; writing it would destroy it. Give another output file", flag,
               path, in);
  for (const std::string& dir : model_dirs) {
    if (dir.empty() || !fs::is_directory(fs::path(dir), ec)) continue;
    for (const fs::directory_entry& e : fs::directory_iterator(dir, ec)) {
      const fs::path ext = e.path().extension();
      if (ext != ".json" && ext != ".safetensors") continue;
      SEEK_CHECK(!same_file(path, e.path()),
                 "{} {} is {}, which this command reads; writing it would destroy the model. Give another "
                 "output file",
                 flag, path, e.path().string());
    }
  }
}

}  // namespace seek::cli
