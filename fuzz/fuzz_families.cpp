// The network families of the blob targets, instantiated once (fuzz_common.hpp).
#include "fuzz_common.hpp"

namespace ppghr_fuzz {

namespace {
AllFamilies* g_all = nullptr;  // never destroyed: no work at exit
AllFamilies& all() {
  if (!g_all) fail("init_families() was not called", "?");
  return *g_all;
}
}  // namespace

void init_families(bool preload) {
  if (!g_all) g_all = new AllFamilies(preload);
}

bool check_family(int i, const unsigned char* data, std::size_t size) {
  bool ok = false;
  all().with(i, [&](auto& f) { ok = f.check(data, size); });
  return ok;
}

const std::vector<unsigned char>& family_blob(int i) {
  const std::vector<unsigned char>* b = nullptr;
  all().with(i, [&](auto& f) { b = &f.blob; });
  return *b;
}

}  // namespace ppghr_fuzz
