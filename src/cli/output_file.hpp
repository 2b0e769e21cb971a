// Checks on a file a command writes (--out).
#pragma once
#include <filesystem>
#include <string>
#include <vector>

namespace seek::cli {

// Checks that `path` (given with `flag`) can take the file a command writes, before anything loads, so a
// typo costs no forward pass: not empty, not "-" (not standard output), not a folder; in a folder that
// exists and is writable; nothing there that the atomic writer would refuse to replace (a device, link or
// read-only file, core/atomic_file.hpp);
// and not the same file as one the command reads: one of `inputs`, or in one of `model_dirs` a file the
// loaders read (*.json: config, tokenizer, weight index; *.safetensors), nor a new file at a name the loaders
// read there (generation_config.json, a shard the weight index names), which the next load would read. "The
// same" is
// std::filesystem::equivalent, so a link, a hard link or another spelling of the path is caught too.
// Whether a and b are one file (std::filesystem::equivalent; false when either is missing).
bool same_file(const std::filesystem::path& a, const std::filesystem::path& b);

void check_output_path(const std::string& path, const std::string& flag,
                       const std::vector<std::string>& model_dirs = {},
                       const std::vector<std::string>& inputs = {});

}  // namespace seek::cli
