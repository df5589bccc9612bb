// Values as the store's statements pass them to PostgreSQL: timestamps as integer microseconds
// since the epoch (exact both ways, no time-zone handling) and arrays as array literals.
#ifndef SERVER_STORE_PG_SQL_VALUES_H_
#define SERVER_STORE_PG_SQL_VALUES_H_

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "server/store/store.h"

namespace server::store::pg {

inline std::string Micros(Timestamp t) { return std::to_string(t.time_since_epoch().count()); }

// A PostgreSQL array literal, for text[], bigint[], int[] and numeric[] parameters: every
// element quoted, with '"' and '\\' escaped; nullopt is NULL.
class ArrayLiteral {
 public:
  void Add(const std::optional<std::string>& value) {
    text_ += text_.size() > 1 ? "," : "";
    if (!value) {
      text_ += "NULL";
      return;
    }
    text_ += '"';
    for (char c : *value) {
      if (c == '"' || c == '\\') text_ += '\\';
      text_ += c;
    }
    text_ += '"';
  }
  std::string Take() { return std::move(text_) + "}"; }

 private:
  std::string text_ = "{";
};

inline std::string TextArray(const std::vector<std::string>& values) {
  ArrayLiteral array;
  for (const std::string& value : values) array.Add(value);
  return array.Take();
}

}  // namespace server::store::pg

#endif  // SERVER_STORE_PG_SQL_VALUES_H_
