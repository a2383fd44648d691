// The original's pthread helpers (absent with WC_NO_ASYNC_THREADING).
#include <pthread.h>
#include <sched.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>

#include "core/log.h"
#include "core/wolfssl_api.h"

#ifndef WC_NO_ASYNC_THREADING

namespace {

int report(const char* what, int status) {
  asynccrypt::log(asynccrypt::LogLevel::kError, "%s failed: %s", what, std::strerror(status));
  return ASYNC_OP_E;
}

bool known_policy(int policy) {
  return policy == SCHED_OTHER || policy == SCHED_RR || policy == SCHED_FIFO;
}

bool priority_in_range(int policy, word32 priority) {
  const int lo = sched_get_priority_min(policy);
  const int hi = sched_get_priority_max(policy);
  return lo >= 0 && hi >= 0 && static_cast<int>(priority) >= lo && static_cast<int>(priority) <= hi;
}

}  // namespace

extern "C" {

int wc_AsyncGetNumberOfCpus(void) {
  const long n = sysconf(_SC_NPROCESSORS_ONLN);
  return n > 0 ? static_cast<int>(n) : 1;
}

int wc_AsyncThreadCreate_ex(pthread_t* thread, word32 priority, int policy,
                            AsyncThreadFunc_t function, void* params) {
  if (thread == nullptr || function == nullptr) return BAD_FUNC_ARG;
  if (!known_policy(policy)) policy = SCHED_OTHER;
  pthread_attr_t attr;
  int status = pthread_attr_init(&attr);
  if (status != 0) return report("pthread_attr_init", status);
  int ret = 0;
  if ((status = pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_JOINABLE)) != 0) {
    ret = report("pthread_attr_setdetachstate", status);
  } else if ((status = pthread_attr_setscope(&attr, PTHREAD_SCOPE_SYSTEM)) != 0) {
    ret = report("pthread_attr_setscope", status);
  } else if (policy != SCHED_OTHER) {
    // An explicit policy and priority need explicit scheduling; the
    // default policy inherits, which needs no privilege.
    sched_param param{};
    param.sched_priority = static_cast<int>(priority);
    if ((status = pthread_attr_setinheritsched(&attr, PTHREAD_EXPLICIT_SCHED)) != 0 ||
        (status = pthread_attr_setschedpolicy(&attr, policy)) != 0 ||
        (status = pthread_attr_setschedparam(&attr, &param)) != 0) {
      ret = report("pthread_attr_setsched", status);
    }
  }
  if (ret == 0 && (status = pthread_create(thread, &attr, function, params)) != 0) {
    ret = report("pthread_create", status);
  }
  if ((status = pthread_attr_destroy(&attr)) != 0 && ret == 0) {
    ret = report("pthread_attr_destroy", status);
  }
  return ret;
}

int wc_AsyncThreadCreate(pthread_t* thread, AsyncThreadFunc_t function, void* params) {
  return wc_AsyncThreadCreate_ex(thread, THREAD_DEFAULT_PRIORITY, THREAD_DEFAULT_POLICY, function,
                                 params);
}

int wc_AsyncThreadBind(pthread_t* thread, word32 logicalCore) {
  if (thread == nullptr) return BAD_FUNC_ARG;
  if (logicalCore >= CPU_SETSIZE) return BAD_FUNC_ARG;
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(logicalCore, &set);
  return pthread_setaffinity_np(*thread, sizeof set, &set);
}

int wc_AsyncThreadStart(pthread_t* thread) {
  (void)thread;
  return 0;
}

void wc_AsyncThreadExit(void* retval) { pthread_exit(retval); }

int wc_AsyncThreadKill(pthread_t* thread) {
  if (thread == nullptr) return BAD_FUNC_ARG;
  return pthread_cancel(*thread);
}

int wc_AsyncThreadPrioritySet(pthread_t* thread, word32 priority) {
  if (thread == nullptr) return BAD_FUNC_ARG;
  int policy = 0;
  sched_param param{};
  int status = pthread_getschedparam(*thread, &policy, &param);
  if (status != 0) return status;
  if (!priority_in_range(policy, priority)) return BAD_FUNC_ARG;
  param.sched_priority = static_cast<int>(priority);
  return pthread_setschedparam(*thread, policy, &param);
}

int wc_AsyncThreadSetPolicyAndPriority(pthread_t* thread, word32 policy, word32 priority) {
  if (thread == nullptr) return BAD_FUNC_ARG;
  if (!known_policy(static_cast<int>(policy))) return BAD_FUNC_ARG;
  if (!priority_in_range(static_cast<int>(policy), priority)) return BAD_FUNC_ARG;
  sched_param param{};
  param.sched_priority = static_cast<int>(priority);
  return pthread_setschedparam(*thread, static_cast<int>(policy), &param);
}

int wc_AsyncThreadJoin(pthread_t* thread) {
  if (thread == nullptr) return BAD_FUNC_ARG;
  return pthread_join(*thread, nullptr);
}

void wc_AsyncThreadYield(void) { sched_yield(); }

pthread_t wc_AsyncThreadId(void) { return pthread_self(); }

}  // extern "C"

#endif  // !WC_NO_ASYNC_THREADING
