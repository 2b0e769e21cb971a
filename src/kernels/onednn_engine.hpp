// The one oneDNN CPU engine and stream that every primitive of the process runs on (gemm.cpp,
// packed_weight.cpp). Internal to src/kernels.
#pragma once
#include <oneapi/dnnl/dnnl.hpp>

namespace seek {

dnnl::engine& onednn_engine();
dnnl::stream& onednn_stream();

}  // namespace seek
