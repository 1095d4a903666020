/* Edge coverage for the fast path's fuzzer only (never part of the product build):
 * scripts/fuzz-feefast.sh compiles csrc/feefast_*.c with gcc's
 * -fsanitize-coverage=trace-pc, which calls this at every basic block, and links this
 * file in uninstrumented. tests/fuzz/harness.py reads ff_cov_map through ctypes. */
#include <stdint.h>

unsigned char ff_cov_map[1 << 16];
static uintptr_t ff_cov_prev;

/* hidden: the calls bind inside the extension, not to the sanitizer runtime's own */
__attribute__((visibility("hidden"))) void __sanitizer_cov_trace_pc(void) {
    uintptr_t pc = (uintptr_t)__builtin_return_address(0);
    uintptr_t cur = (pc ^ (pc >> 15)) & 0xffff;
    ff_cov_map[cur ^ ff_cov_prev]++;
    ff_cov_prev = cur >> 1;
}
