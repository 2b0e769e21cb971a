#include "core/resources.hpp"

#include <sys/resource.h>

namespace seek {

double peak_rss_mb() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return double(u.ru_maxrss) / 1024.0;  // Linux reports kilobytes
}

}  // namespace seek
