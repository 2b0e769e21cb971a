// The seek-sandbox-init program's bytes (see sandbox_init_image.cpp).
#pragma once
#include <string_view>

namespace seek::reward::detail {

std::string_view sandbox_init_image();

}  // namespace seek::reward::detail
