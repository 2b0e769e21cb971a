// The safetensors layer in one include: reading (SafetensorsFile, TensorStore), dtype conversion and FP8
// dequantization (convert.hpp), and writing (SafetensorsWriter).
#pragma once
#include "io/convert.hpp"
#include "io/safetensors_file.hpp"
#include "io/safetensors_writer.hpp"
#include "io/tensor_store.hpp"
