// SliceBudget's range checks, shared by spec parsing and the C API.
#include "core/slice_budget.h"

#include <string>

#include "core/wolfssl_api.h"

namespace asynccrypt {

Status SliceBudget::check(long slices, long budget_us) {
  if (slices < 0 || slices > kMaxSlices) {
    return Status(BAD_FUNC_ARG, "slices=" + std::to_string(slices) + " is out of range [0, " +
                                    std::to_string(kMaxSlices) + "] (0 = no slice limit)");
  }
  if (budget_us < 0 || budget_us > kMaxBudgetUs) {
    return Status(BAD_FUNC_ARG, "budget_us=" + std::to_string(budget_us) + " is out of range [0, " +
                                    std::to_string(kMaxBudgetUs) + "] (0 = no time limit)");
  }
  if (slices == 0 && budget_us == 0) {
    return Status(BAD_FUNC_ARG,
                  "slices=0 with budget_us=0 would run each operation whole in one poll; "
                  "set a slice count or a time budget");
  }
  return Status();
}

}  // namespace asynccrypt
