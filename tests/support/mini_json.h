// A minimal JSON reader for test vectors (Wycheproof): enough for its files, nothing more.
#pragma once

#include <cstdint>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

namespace testing_support {

// Json is one parsed value. Numbers keep their text; strings are unescaped
// (\uXXXX below 0x80 only, which is all the test vectors use).
struct Json {
  enum class Type { kNull, kBool, kNumber, kString, kArray, kObject };
  Type type = Type::kNull;
  bool boolean = false;
  std::string text;  // a string's value, or a number's digits
  std::vector<Json> items;
  std::map<std::string, Json> members;

  // The member `key`, or a null value when absent.
  const Json& operator[](const std::string& key) const {
    static const Json kNull;
    const auto it = members.find(key);
    return it == members.end() ? kNull : it->second;
  }
  long as_long() const { return std::stol(text); }
};

// JsonParser parses one document; ok() is false (with error()) when it is
// malformed.
class JsonParser {
 public:
  explicit JsonParser(std::string text) : s_(std::move(text)) {}

  Json parse() {
    Json value = parse_value();
    skip_space();
    if (pos_ != s_.size()) fail("trailing characters");
    return value;
  }
  bool ok() const { return error_.empty(); }
  const std::string& error() const { return error_; }

 private:
  void fail(const std::string& why) {
    if (error_.empty()) error_ = why + " at offset " + std::to_string(pos_);
    pos_ = s_.size();
  }
  void skip_space() {
    while (pos_ < s_.size() &&
           (s_[pos_] == ' ' || s_[pos_] == '\n' || s_[pos_] == '\r' || s_[pos_] == '\t')) {
      ++pos_;
    }
  }
  bool eat(char c) {
    skip_space();
    if (pos_ < s_.size() && s_[pos_] == c) {
      ++pos_;
      return true;
    }
    return false;
  }
  bool eat_word(const char* word) {
    const std::string w(word);
    if (s_.compare(pos_, w.size(), w) != 0) return false;
    pos_ += w.size();
    return true;
  }
  std::string parse_string() {
    std::string out;
    if (!eat('"')) {
      fail("expected a string");
      return out;
    }
    while (pos_ < s_.size() && s_[pos_] != '"') {
      char c = s_[pos_++];
      if (c == '\\' && pos_ < s_.size()) {
        const char e = s_[pos_++];
        switch (e) {
          case 'n':
            c = '\n';
            break;
          case 't':
            c = '\t';
            break;
          case 'r':
            c = '\r';
            break;
          case 'b':
            c = '\b';
            break;
          case 'f':
            c = '\f';
            break;
          case 'u': {
            if (pos_ + 4 > s_.size()) return fail("short \\u escape"), out;
            const unsigned long code = std::stoul(s_.substr(pos_, 4), nullptr, 16);
            pos_ += 4;
            c = code < 0x80 ? static_cast<char>(code) : '?';
            break;
          }
          default:
            c = e;
            break;  // \" \\ \/
        }
      }
      out.push_back(c);
    }
    if (pos_ >= s_.size()) return fail("unterminated string"), out;
    ++pos_;
    return out;
  }
  Json parse_value() {
    Json v;
    skip_space();
    if (pos_ >= s_.size()) return fail("unexpected end"), v;
    const char c = s_[pos_];
    if (c == '{') {
      v.type = Json::Type::kObject;
      ++pos_;
      if (eat('}')) return v;
      do {
        std::string key = parse_string();
        if (!eat(':')) return fail("expected ':'"), v;
        v.members[key] = parse_value();
      } while (ok() && eat(','));
      if (!eat('}')) fail("expected '}'");
    } else if (c == '[') {
      v.type = Json::Type::kArray;
      ++pos_;
      if (eat(']')) return v;
      do {
        v.items.push_back(parse_value());
      } while (ok() && eat(','));
      if (!eat(']')) fail("expected ']'");
    } else if (c == '"') {
      v.type = Json::Type::kString;
      v.text = parse_string();
    } else if (eat_word("true") || eat_word("false")) {
      v.type = Json::Type::kBool;
      v.boolean = c == 't';
    } else if (eat_word("null")) {
      v.type = Json::Type::kNull;
    } else {
      v.type = Json::Type::kNumber;
      const std::size_t start = pos_;
      while (pos_ < s_.size() &&
             std::string("+-0123456789.eE").find(s_[pos_]) != std::string::npos) {
        ++pos_;
      }
      if (pos_ == start) fail("unexpected character");
      v.text = s_.substr(start, pos_ - start);
    }
    return v;
  }

  std::string s_;
  std::size_t pos_ = 0;
  std::string error_;
};

// Reads and parses a file; on failure returns false with `error` set.
inline bool read_json_file(const std::string& path, Json* out, std::string* error) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    *error = "cannot open " + path;
    return false;
  }
  std::ostringstream text;
  text << in.rdbuf();
  JsonParser parser(text.str());
  *out = parser.parse();
  if (!parser.ok()) *error = path + ": " + parser.error();
  return parser.ok();
}

// Decodes a hex string ("" gives an empty vector); false on bad digits.
inline bool from_hex(const std::string& hex, std::vector<std::uint8_t>* out) {
  out->clear();
  if (hex.size() % 2 != 0) return false;
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  for (std::size_t i = 0; i < hex.size(); i += 2) {
    const int hi = nibble(hex[i]);
    const int lo = nibble(hex[i + 1]);
    if (hi < 0 || lo < 0) return false;
    out->push_back(static_cast<std::uint8_t>(hi << 4 | lo));
  }
  return true;
}

}  // namespace testing_support
