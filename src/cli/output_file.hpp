// Checks on a file a command writes (--out) that the shared writer (io/atomic_file) cannot make by itself:
// that it is not one of the command's own inputs.
#pragma once
#include <string>
#include <vector>

namespace seek::cli {

// Refuses `path` (given with `flag`) when it is the same file as one the command reads: one of `inputs`, or
// in one of `model_dirs` a file the loaders read (*.json: config, tokenizer, weight index; *.safetensors).
// "The same" is std::filesystem::equivalent, so a link, a hard link or another spelling of the path is
// caught too. Runs before anything loads: the atomic writer would replace the weights the model was read
// from, and the error should not wait for a forward pass. Paths that do not exist are left to the loaders.
void check_output_is_not_an_input(const std::string& path, const std::string& flag,
                                  const std::vector<std::string>& model_dirs,
                                  const std::vector<std::string>& inputs = {});

}  // namespace seek::cli
