// A test helper: a throwaway SoftHSM2 token in a temporary directory, with the test keys imported.
#pragma once

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

extern char** environ;

namespace testing_support {

// SoftHsmToken makes a SoftHSM2 token in a fresh temporary directory with
// its own SOFTHSM2_CONF (the system's configuration and tokens are never
// read or touched), imports the test keys by id and label, and deletes it
// all when destroyed. The keys are wolfSSL's test keys from its certs/
// folder, the same ones certs_test.h holds as DER buffers, so that tests can
// compare with wolfCrypt's software operations:
//   id 01, "rsa-2048":  certs/server-key.pem    (server_key_der_2048)
//   id 02, "ecc-p256":  certs/ecc-key.pem       (ecc_key_der_256)
//   id 03, "ecc-p384":  certs/ca-ecc384-key.pem (ca_ecc_key_der_384)
// The user PIN is put in the environment variable kPinEnv.
//
// SOFTHSM2_CONF is process-wide and SoftHSM2 reads it in C_Initialize:
// one SoftHsmToken at a time, and every PKCS#11 Module released before it
// is destroyed (so the next one initialises the module afresh).
class SoftHsmToken {
 public:
  static constexpr const char* kLabel = "asynccrypt-test";
  static constexpr const char* kPin = "735194";  // distinctive: tests grep messages for it
  static constexpr const char* kSoPin = "60219384";
  static constexpr const char* kPinEnv = "ASYNCCRYPT_TEST_PKCS11_PIN";

  struct KeyFile {
    const char* id_hex;
    const char* label;
    const char* file;  // in wolfSSL's certs/
  };
  static constexpr KeyFile kKeys[] = {
      {"01", "rsa-2048", "server-key.pem"},
      {"02", "ecc-p256", "ecc-key.pem"},
      {"03", "ecc-p384", "ca-ecc384-key.pem"},
  };

  // module_path is $ASYNCCRYPT_SOFTHSM_MODULE, else the first of Debian's
  // places for libsofthsm2.so that exists, else "".
  static std::string module_path() {
    if (const char* env = std::getenv("ASYNCCRYPT_SOFTHSM_MODULE")) return env;
    for (const char* p :
         {"/usr/lib/softhsm/libsofthsm2.so", "/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so",
          "/usr/lib/aarch64-linux-gnu/softhsm/libsofthsm2.so"}) {
      if (access(p, R_OK) == 0) return p;
    }
    return "";
  }

  // missing is why SoftHSM2 tests cannot run here ("" when they can).
  static std::string missing() {
    const std::string module = module_path();
    if (module.empty()) return "libsofthsm2.so not found (apt-get install softhsm2)";
    if (access(module.c_str(), R_OK) != 0) return module + " cannot be read";
    if (!on_path("softhsm2-util")) return "softhsm2-util not found (apt-get install softhsm2)";
    if (!on_path("openssl")) return "openssl not found (apt-get install openssl)";
    return "";
  }

  // required says whether ASYNCCRYPT_REQUIRE_SOFTHSM=1 turns skips into failures.
  static bool required() {
    const char* env = std::getenv("ASYNCCRYPT_REQUIRE_SOFTHSM");
    return env != nullptr && std::string(env) == "1";
  }

  // create makes the token, or returns null with *error set.
  static std::unique_ptr<SoftHsmToken> create(const std::string& certs_dir, std::string* error) {
    std::unique_ptr<SoftHsmToken> token(new SoftHsmToken(certs_dir));
    if (!token->setup(error)) return nullptr;
    return token;
  }

  ~SoftHsmToken() {
    stop_server();
    unsetenv("P11_KIT_SERVER_ADDRESS");
    std::error_code ignored;
    if (!dir_.empty()) std::filesystem::remove_all(dir_, ignored);
    if (had_conf_) {
      setenv("SOFTHSM2_CONF", old_conf_.c_str(), 1);
    } else {
      unsetenv("SOFTHSM2_CONF");
    }
    unsetenv(kPinEnv);
  }
  SoftHsmToken(const SoftHsmToken&) = delete;
  SoftHsmToken& operator=(const SoftHsmToken&) = delete;

  const std::string& dir() const { return dir_; }
  std::string module() const { return module_path(); }

  // remove_token_files deletes the token's files behind the module's back
  // (a token pulled out, an HSM partition deleted).
  bool remove_token_files() {
    std::error_code ec;
    std::filesystem::remove_all(dir_ + "/tokens", ec);
    std::filesystem::create_directory(dir_ + "/tokens", ec);
    return !ec;
  }

  // reinit deletes the token and makes a new one with the same label, PIN
  // (or `pin`) and keys: SoftHSM2 gives it a new slot id.
  bool reinit(std::string* error, const std::string& pin = kPin) {
    if (!remove_token_files()) {
      *error = "cannot empty " + dir_ + "/tokens";
      return false;
    }
    return init_and_import(pin, error);
  }

  // p11kit_client_path is p11-kit's client module (it forwards every call
  // to a `p11-kit server` over a socket, as a network HSM's library does),
  // or "" when p11-kit is not installed.
  static std::string p11kit_client_path() {
    for (const char* p : {"/usr/lib/x86_64-linux-gnu/pkcs11/p11-kit-client.so",
                          "/usr/lib/aarch64-linux-gnu/pkcs11/p11-kit-client.so",
                          "/usr/lib/pkcs11/p11-kit-client.so"}) {
      if (access(p, R_OK) == 0) return p;
    }
    return "";
  }

  // start_server puts the token behind `p11-kit server` on a socket in
  // dir() and points P11_KIT_SERVER_ADDRESS at it, so that the module
  // p11kit_client_path() reaches the token out of process. The server loads
  // `provider` (SoftHSM2 itself unless given: the latency module, say, with
  // its settings in this process's environment, which the server inherits).
  // Waits (at most 10 s) until the server accepts connections. False with
  // *error when it cannot.
  bool start_server(std::string* error, const std::string& provider = "") {
    if (p11kit_client_path().empty() || !on_path("p11-kit")) {
      *error = "p11-kit or its client module is not installed (apt-get install p11-kit)";
      return false;
    }
    const std::string socket = dir_ + "/p11-kit.sock";
    unlink(socket.c_str());
    const std::string log = dir_ + "/p11-kit-server.log";
    std::vector<std::string> argv = {"p11-kit",
                                     "server",
                                     "-f",
                                     "-n",
                                     socket,
                                     "--provider",
                                     provider.empty() ? module_path() : provider,
                                     std::string("pkcs11:token=") + kLabel};
    std::vector<char*> args;
    for (auto& a : argv) args.push_back(a.data());
    args.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 1, log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    posix_spawn_file_actions_adddup2(&actions, 1, 2);
    const int rc = posix_spawnp(&server_, args[0], &actions, nullptr, args.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    if (rc != 0) {
      server_ = 0;
      *error = "cannot start p11-kit server";
      return false;
    }
    // The socket's file exists from bind() on, before the server listens:
    // a client that connects in between is refused, and p11-kit's client
    // module then shows no tokens at all (seen once under full CPU load).
    // So wait until a connection is accepted.
    bool listening = false;
    for (int i = 0; i < 1000 && !(listening = accepts_connections(socket)); ++i) usleep(10'000);
    if (!listening) {
      stop_server();
      std::ifstream in(log);
      std::ostringstream what;
      what << "p11-kit server never accepted a connection on " << socket << ":\n" << in.rdbuf();
      *error = what.str();
      return false;
    }
    setenv("P11_KIT_SERVER_ADDRESS", ("unix:path=" + socket).c_str(), 1);
    return true;
  }

  // accepts_connections: whether a connection to the Unix socket at path
  // succeeds (it is closed at once; the server's handler for it then ends).
  static bool accepts_connections(const std::string& path) {
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    if (path.size() >= sizeof(address.sun_path)) return false;
    path.copy(address.sun_path, path.size());
    const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return false;
    const bool ok =
        ::connect(fd, reinterpret_cast<const sockaddr*>(&address), sizeof(address)) == 0;
    ::close(fd);
    return ok;
  }

  // stop_server ends the p11-kit server and the process it runs for each
  // client connection (an HSM that went away).
  void stop_server() {
    if (server_ == 0) return;
    const std::string children =
        "/proc/" + std::to_string(server_) + "/task/" + std::to_string(server_) + "/children";
    std::ifstream list(children);
    for (pid_t child = 0; list >> child;) kill(child, SIGKILL);
    kill(server_, SIGTERM);
    int status = 0;
    waitpid(server_, &status, 0);
    server_ = 0;
  }

  // run runs argv (no shell) with output to a log file; on failure *error
  // gets the command and its output.
  bool run(const std::vector<std::string>& argv, std::string* error) {
    const std::string log = dir_ + "/command.log";
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 1, log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    posix_spawn_file_actions_adddup2(&actions, 1, 2);
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    pid_t pid = 0;
    int rc = posix_spawnp(&pid, args[0], &actions, nullptr, args.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    int status = 0;
    if (rc == 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status) &&
        WEXITSTATUS(status) == 0) {
      return true;
    }
    std::ostringstream what;
    for (const auto& a : argv) what << a << ' ';
    std::ifstream in(log);
    what << "failed:\n" << in.rdbuf();
    *error = what.str();
    return false;
  }

 private:
  explicit SoftHsmToken(std::string certs_dir) : certs_dir_(std::move(certs_dir)) {}

  static bool on_path(const std::string& tool) {
    const char* path = std::getenv("PATH");
    std::stringstream dirs(path != nullptr ? path : "/usr/bin:/bin");
    for (std::string d; std::getline(dirs, d, ':');) {
      if (access((d + "/" + tool).c_str(), X_OK) == 0) return true;
    }
    return false;
  }

  bool setup(std::string* error) {
    std::string pattern =
        std::filesystem::temp_directory_path().string() + "/asynccrypt-hsm-XXXXXX";
    if (mkdtemp(pattern.data()) == nullptr) {
      *error = "mkdtemp failed";
      return false;
    }
    dir_ = pattern;
    if (const char* old = std::getenv("SOFTHSM2_CONF")) {
      had_conf_ = true;
      old_conf_ = old;
    }
    std::ofstream conf(dir_ + "/softhsm2.conf");
    conf << "directories.tokendir = " << dir_ << "/tokens\n"
         << "objectstore.backend = file\n"
         << "log.level = ERROR\n";
    conf.close();
    std::error_code ec;
    std::filesystem::create_directory(dir_ + "/tokens", ec);
    if (!conf || ec) {
      *error = "cannot write the SoftHSM2 configuration in " + dir_;
      return false;
    }
    setenv("SOFTHSM2_CONF", (dir_ + "/softhsm2.conf").c_str(), 1);
    setenv(kPinEnv, kPin, 1);
    for (const KeyFile& key : kKeys) {
      // softhsm2-util --import wants PKCS#8; wolfSSL's files are PKCS#1 / SEC1.
      if (!run({"openssl", "pkcs8", "-topk8", "-nocrypt", "-in", certs_dir_ + "/" + key.file,
                "-out", dir_ + "/" + key.label + ".p8"},
               error)) {
        return false;
      }
    }
    return init_and_import(kPin, error);
  }

  bool init_and_import(const std::string& pin, std::string* error) {
    if (!run({"softhsm2-util", "--init-token", "--free", "--label", kLabel, "--so-pin", kSoPin,
              "--pin", pin},
             error)) {
      return false;
    }
    for (const KeyFile& key : kKeys) {
      if (!run({"softhsm2-util", "--import", dir_ + "/" + key.label + ".p8", "--token", kLabel,
                "--label", key.label, "--id", key.id_hex, "--pin", pin},
               error)) {
        return false;
      }
    }
    return true;
  }

  std::string certs_dir_;
  std::string dir_;
  pid_t server_ = 0;  // the p11-kit server we started, or 0
  bool had_conf_ = false;
  std::string old_conf_;
};

}  // namespace testing_support

// ASYNCCRYPT_SOFTHSM_OR_SKIP() ends the current test as skipped, with the
// reason, when SoftHSM2 is not installed; with ASYNCCRYPT_REQUIRE_SOFTHSM=1
// it fails instead (CI machines that must run these tests).
#define ASYNCCRYPT_SOFTHSM_OR_SKIP()                                              \
  do {                                                                            \
    const std::string softhsm_missing = testing_support::SoftHsmToken::missing(); \
    if (!softhsm_missing.empty()) {                                               \
      if (testing_support::SoftHsmToken::required()) {                            \
        FAIL() << "ASYNCCRYPT_REQUIRE_SOFTHSM=1 but " << softhsm_missing;         \
      }                                                                           \
      GTEST_SKIP() << "SoftHSM2 tests skipped: " << softhsm_missing;              \
    }                                                                             \
  } while (0)
