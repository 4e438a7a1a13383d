// tfpm_test_leak: a PHP extension for tests only (tests/integration/
// test_recycling.py). tfpm_test_leak(int $bytes) allocates $bytes with
// malloc(), outside the Zend heap, touches every page (so they count in the
// process's RSS) and never frees them: the leak of a C library or an
// extension that process_memory_limit exists for. Returns the bytes leaked
// by this process so far. Not installed; built only in plain (unsanitized)
// builds, since ASan and TSan builds cannot load extensions.
#include <php.h>

#include <atomic>
#include <cstdlib>
#include <cstring>

namespace {

std::atomic<zend_long> g_leaked{0};

ZEND_BEGIN_ARG_WITH_RETURN_TYPE_INFO_EX(arginfo_tfpm_test_leak, 0, 1, IS_LONG, 0)
  ZEND_ARG_TYPE_INFO(0, bytes, IS_LONG, 0)
ZEND_END_ARG_INFO()

PHP_FUNCTION(tfpm_test_leak) {
  zend_long bytes = 0;
  ZEND_PARSE_PARAMETERS_START(1, 1)
    Z_PARAM_LONG(bytes)
  ZEND_PARSE_PARAMETERS_END();
  if (bytes <= 0 || bytes > (zend_long{1} << 30)) {
    zend_argument_value_error(1, "must be between 1 and 1073741824");
    RETURN_THROWS();
  }
  void* p = std::malloc(static_cast<size_t>(bytes));  // never freed, on purpose
  if (p == nullptr) RETURN_LONG(-1);
  std::memset(p, 0x5a, static_cast<size_t>(bytes));
  RETURN_LONG(g_leaked.fetch_add(bytes) + bytes);
}

const zend_function_entry kFunctions[] = {
    ZEND_FE(tfpm_test_leak, arginfo_tfpm_test_leak)
    ZEND_FE_END,
};

}  // namespace

extern "C" {
zend_module_entry tfpm_test_leak_module_entry = {
    STANDARD_MODULE_HEADER, "tfpm_test_leak", kFunctions, nullptr, nullptr, nullptr, nullptr, nullptr, "0.1",
    STANDARD_MODULE_PROPERTIES,
};
}
ZEND_GET_MODULE(tfpm_test_leak)
