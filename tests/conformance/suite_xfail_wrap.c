/* Lets wolfSSL's unit.test go on past a cipher-suite test case that fails by
 * a known wolfSSL bug, and checks that it still fails
 * (scripts/conformance.sh, docs/known-issues.md).
 *
 * unit.test's suite harness (tests/suites.c) runs each case of a .conf file
 * as server_test() on a thread and client_test() on the caller, and the
 * example client and server end a failed connection with exit(1): one
 * failing case ends the whole program, and every case after it (the rest
 * of that file and the files after it) goes untested.
 *
 * scripts/conformance.sh links this file into its copy of unit.test with
 * -Wl,--wrap=client_test,--wrap=server_test,--wrap=exit. Cases whose
 * arguments contain one of the token sequences of ASYNCCRYPT_SUITE_XFAIL
 * (separated by ';', for example "-v 4 -l TLS13-AES128-GCM-SHA256 -Q") run
 * under a guard: an exit() on that thread returns to the guard instead of
 * ending the program, and the case is reported to the suite as passed. Each
 * guarded case is written to ASYNCCRYPT_SUITE_XFAIL_LOG as "XFAIL" (it
 * failed, as expected) or "XPASS" (it passed: wolfSSL fixed it, and the
 * script fails the run). What the failed case leaves behind (its
 * connection, its context) is leaked: the process is a test. No other case
 * is touched. */
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The start of wolfSSL's func_args (wolfssl/test.h), the same from 5.5.4
 * to 5.9.2. */
struct case_args {
  int argc;
  char** argv;
  int return_code;
};

void* __real_client_test(void* args);
void* __real_server_test(void* args);
void* __wrap_client_test(void* args);
void* __wrap_server_test(void* args);
void __real_exit(int code) __attribute__((noreturn));
void __wrap_exit(int code) __attribute__((noreturn));

/* Set while a guarded case runs on this thread. */
static _Thread_local jmp_buf* guard;
static _Thread_local int guard_exit_code;

void __wrap_exit(int code) {
  if (guard != NULL) {
    guard_exit_code = code;
    longjmp(*guard, 1);
  }
  __real_exit(code);
}

/* Whether the tokens of `want` (separated by spaces, `len` bytes) appear
 * in a row among argv. */
static int has_sequence(int argc, char** argv, const char* want, size_t len) {
  int start;
  for (start = 0; start < argc; ++start) {
    const char* p = want;
    const char* end = want + len;
    int i = start;
    for (;;) {
      size_t tok;
      while (p < end && *p == ' ') ++p;
      if (p == end) return 1; /* every token matched */
      tok = 0;
      while (p + tok < end && p[tok] != ' ') ++tok;
      if (i >= argc || strlen(argv[i]) != tok || strncmp(argv[i], p, tok) != 0) break;
      p += tok;
      ++i;
    }
  }
  return 0;
}

/* Whether this case is one of the expected failures. */
static int expected_to_fail(int argc, char** argv) {
  const char* list = getenv("ASYNCCRYPT_SUITE_XFAIL");
  while (list != NULL && *list != '\0') {
    const char* end = strchr(list, ';');
    size_t len = end != NULL ? (size_t)(end - list) : strlen(list);
    if (len > 0 && has_sequence(argc, argv, list, len)) return 1;
    list = end != NULL ? end + 1 : NULL;
  }
  return 0;
}

static void report(const char* verdict, const char* side, const struct case_args* a, int code) {
  const char* path = getenv("ASYNCCRYPT_SUITE_XFAIL_LOG");
  FILE* log = path != NULL ? fopen(path, "a") : NULL;
  FILE* outs[2];
  int o, i;
  outs[0] = stdout;
  outs[1] = log;
  for (o = 0; o < 2; ++o) {
    if (outs[o] == NULL) continue;
    fprintf(outs[o], "%s %s (code %d):", verdict, side, code);
    for (i = 0; i < a->argc; ++i) fprintf(outs[o], " %s", a->argv[i]);
    fprintf(outs[o], "\n");
    fflush(outs[o]);
  }
  if (log != NULL) fclose(log);
}

static void* run_case(const char* side, void* (*real)(void*), void* vargs) {
  struct case_args* a = (struct case_args*)vargs;
  jmp_buf here;
  void* volatile ret = NULL;
  if (!expected_to_fail(a->argc, a->argv)) return real(vargs);
  if (setjmp(here) == 0) {
    guard = &here;
    ret = real(vargs);
    guard = NULL;
    if (a->return_code == 0) {
      report("XPASS", side, a, 0);
    } else {
      report("XFAIL", side, a, a->return_code);
      a->return_code = 0;
    }
  } else {
    guard = NULL;
    report("XFAIL", side, a, guard_exit_code);
    a->return_code = 0;
  }
  return ret;
}

void* __wrap_client_test(void* args) { return run_case("client", __real_client_test, args); }

void* __wrap_server_test(void* args) { return run_case("server", __real_server_test, args); }
