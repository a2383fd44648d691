// Unit tests of src/abi/thread_helpers.cc: the original's pthread helpers.
#include "core/wolfssl_api.h"

#include <gtest/gtest.h>
#include <pthread.h>
#include <sched.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>

namespace {

void* store_arg(void* arg) {
  static_cast<std::atomic<int>*>(arg)->store(42);
  return arg;
}

void* exit_with_arg(void* arg) {
  wc_AsyncThreadExit(arg);
  return nullptr;  // never reached
}

void* wait_for_cancel(void* arg) {
  auto* started = static_cast<std::atomic<bool>*>(arg);
  started->store(true);
  for (;;) {
    pthread_testcancel();
    usleep(1000);
  }
  return nullptr;
}

// The first CPU this thread may run on, or -1.
int first_allowed_cpu() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof set, &set) != 0) return -1;
  for (int i = 0; i < CPU_SETSIZE; ++i) {
    if (CPU_ISSET(i, &set)) return i;
  }
  return -1;
}

TEST(ThreadHelpers, NumberOfCpus) {
  const int n = wc_AsyncGetNumberOfCpus();
  EXPECT_GE(n, 1);
  EXPECT_EQ(n, static_cast<int>(sysconf(_SC_NPROCESSORS_ONLN)));
}

TEST(ThreadHelpers, CreateRunsTheFunctionAndJoins) {
  std::atomic<int> value{0};
  pthread_t thread;
  ASSERT_EQ(wc_AsyncThreadCreate(&thread, store_arg, &value), 0);
  EXPECT_EQ(wc_AsyncThreadStart(&thread), 0);
  EXPECT_EQ(wc_AsyncThreadJoin(&thread), 0);
  EXPECT_EQ(value.load(), 42);
}

TEST(ThreadHelpers, CreateArguments) {
  pthread_t thread;
  std::atomic<int> value{0};
  EXPECT_EQ(wc_AsyncThreadCreate(nullptr, store_arg, &value), BAD_FUNC_ARG);
  EXPECT_EQ(wc_AsyncThreadCreate(&thread, nullptr, &value), BAD_FUNC_ARG);
  EXPECT_EQ(wc_AsyncThreadCreate_ex(nullptr, 0, SCHED_OTHER, store_arg, &value), BAD_FUNC_ARG);
  EXPECT_EQ(value.load(), 0);
}

TEST(ThreadHelpers, UnknownPolicyIsCoercedToTheDefault) {
  std::atomic<int> value{0};
  pthread_t thread;
  ASSERT_EQ(wc_AsyncThreadCreate_ex(&thread, 0, 12345, store_arg, &value), 0);
  EXPECT_EQ(wc_AsyncThreadJoin(&thread), 0);
  EXPECT_EQ(value.load(), 42);
}

TEST(ThreadHelpers, InvalidRealTimeAttributesAreAsyncOpE) {
  // Priority 0 is outside SCHED_FIFO's range [1, 99]: the attributes fail.
  std::atomic<int> value{0};
  pthread_t thread;
  EXPECT_EQ(wc_AsyncThreadCreate_ex(&thread, 0, SCHED_FIFO, store_arg, &value), ASYNC_OP_E);
  EXPECT_EQ(value.load(), 0);
}

TEST(ThreadHelpers, ExitReturnsItsValue) {
  pthread_t thread;
  int token = 0;
  ASSERT_EQ(wc_AsyncThreadCreate(&thread, exit_with_arg, &token), 0);
  void* result = nullptr;
  ASSERT_EQ(pthread_join(thread, &result), 0);
  EXPECT_EQ(result, &token);
}

TEST(ThreadHelpers, KillCancelsAThread) {
  EXPECT_EQ(wc_AsyncThreadKill(nullptr), BAD_FUNC_ARG);
  std::atomic<bool> started{false};
  pthread_t thread;
  ASSERT_EQ(wc_AsyncThreadCreate(&thread, wait_for_cancel, &started), 0);
  while (!started.load()) wc_AsyncThreadYield();
  EXPECT_EQ(wc_AsyncThreadKill(&thread), 0);
  void* result = nullptr;
  ASSERT_EQ(pthread_join(thread, &result), 0);
  EXPECT_EQ(result, PTHREAD_CANCELED);
}

TEST(ThreadHelpers, JoinArguments) {
  EXPECT_EQ(wc_AsyncThreadJoin(nullptr), BAD_FUNC_ARG);
  EXPECT_EQ(wc_AsyncThreadStart(nullptr), 0);
}

TEST(ThreadHelpers, BindPinsTheThread) {
  EXPECT_EQ(wc_AsyncThreadBind(nullptr, 0), BAD_FUNC_ARG);
  pthread_t self = pthread_self();
  EXPECT_EQ(wc_AsyncThreadBind(&self, CPU_SETSIZE), BAD_FUNC_ARG);
  EXPECT_EQ(wc_AsyncThreadBind(&self, 0xFFFFFFFFu), BAD_FUNC_ARG);

  cpu_set_t saved;
  ASSERT_EQ(pthread_getaffinity_np(self, sizeof saved, &saved), 0);
  const int cpu = first_allowed_cpu();
  ASSERT_GE(cpu, 0);
  ASSERT_EQ(wc_AsyncThreadBind(&self, static_cast<word32>(cpu)), 0);
  cpu_set_t now;
  ASSERT_EQ(pthread_getaffinity_np(self, sizeof now, &now), 0);
  EXPECT_EQ(CPU_COUNT(&now), 1);
  EXPECT_TRUE(CPU_ISSET(cpu, &now));
  // A CPU that does not exist is the pthread error, returned as is.
  EXPECT_EQ(wc_AsyncThreadBind(&self, CPU_SETSIZE - 1), EINVAL);
  ASSERT_EQ(pthread_setaffinity_np(self, sizeof saved, &saved), 0);
}

TEST(ThreadHelpers, PrioritySetKeepsThePolicy) {
  EXPECT_EQ(wc_AsyncThreadPrioritySet(nullptr, 0), BAD_FUNC_ARG);
  pthread_t self = pthread_self();
  int policy = -1;
  sched_param param{};
  ASSERT_EQ(pthread_getschedparam(self, &policy, &param), 0);
  ASSERT_EQ(policy, SCHED_OTHER);
  EXPECT_EQ(wc_AsyncThreadPrioritySet(&self, 0), 0);  // SCHED_OTHER's only priority
  EXPECT_EQ(wc_AsyncThreadPrioritySet(&self, 1), BAD_FUNC_ARG);
  EXPECT_EQ(wc_AsyncThreadPrioritySet(&self, 1000), BAD_FUNC_ARG);
  ASSERT_EQ(pthread_getschedparam(self, &policy, &param), 0);
  EXPECT_EQ(policy, SCHED_OTHER);
}

TEST(ThreadHelpers, SetPolicyAndPriorityChecksAgainstTheNewPolicy) {
  EXPECT_EQ(wc_AsyncThreadSetPolicyAndPriority(nullptr, SCHED_OTHER, 0), BAD_FUNC_ARG);
  pthread_t self = pthread_self();
  EXPECT_EQ(wc_AsyncThreadSetPolicyAndPriority(&self, 99, 0), BAD_FUNC_ARG);  // no such policy
  EXPECT_EQ(wc_AsyncThreadSetPolicyAndPriority(&self, SCHED_BATCH, 0), BAD_FUNC_ARG);
  EXPECT_EQ(wc_AsyncThreadSetPolicyAndPriority(&self, SCHED_FIFO, 0), BAD_FUNC_ARG);
  EXPECT_EQ(wc_AsyncThreadSetPolicyAndPriority(&self, SCHED_RR, 100), BAD_FUNC_ARG);
  EXPECT_EQ(wc_AsyncThreadSetPolicyAndPriority(&self, SCHED_OTHER, 5), BAD_FUNC_ARG);
  EXPECT_EQ(wc_AsyncThreadSetPolicyAndPriority(&self, SCHED_OTHER, 0), 0);
}

TEST(ThreadHelpers, IdAndYield) {
  EXPECT_TRUE(pthread_equal(wc_AsyncThreadId(), pthread_self()));
  pthread_t other{};
  std::atomic<int> value{0};
  ASSERT_EQ(wc_AsyncThreadCreate(&other, store_arg, &value), 0);
  EXPECT_FALSE(pthread_equal(other, wc_AsyncThreadId()));
  wc_AsyncThreadYield();
  EXPECT_EQ(wc_AsyncThreadJoin(&other), 0);
}

}  // namespace
