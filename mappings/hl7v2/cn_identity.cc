#include "mappings/hl7v2/cn_identity.h"

#include <algorithm>
#include <cctype>

namespace mappings::hl7v2 {
namespace {

constexpr int kWeights[17] = {7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2};
constexpr char kCheckDigits[] = "10X98765432";

// Province-level codes of GB/T 2260 (and 81-83 of the residence permits of Hong Kong, Macao and
// Taiwan residents).
constexpr int kProvinces[] = {11, 12, 13, 14, 15, 21, 22, 23, 31, 32, 33, 34,
                              35, 36, 37, 41, 42, 43, 44, 45, 46, 50, 51, 52,
                              53, 54, 61, 62, 63, 64, 65, 71, 81, 82, 83};

char CheckDigit(std::string_view first17) {
  int sum = 0;
  for (int i = 0; i < 17; ++i) sum += (first17[i] - '0') * kWeights[i];
  return kCheckDigits[sum % 11];
}

bool AllDigits(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

int Number(std::string_view digits) {
  int n = 0;
  for (char c : digits) n = n * 10 + (c - '0');
  return n;
}

bool RealDate(int year, int month, int day) {
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (month < 1 || month > 12 || day < 1) return false;
  bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
  int days = kDays[month - 1] + (month == 2 && leap ? 1 : 0);
  return day <= days;
}

}  // namespace

CnIdentityCheck CheckCnIdentity(std::string_view number, std::string_view not_after) {
  CnIdentityCheck result;
  std::string id(number);
  if (id.size() == 15 && AllDigits(id)) {
    id = id.substr(0, 6) + "19" + id.substr(6);
    id.push_back(CheckDigit(id));
    result.upgraded = true;
  }
  if (id.size() != 18 || !AllDigits(std::string_view(id).substr(0, 17))) {
    result.problem = "a 身份证 number has 18 characters, 17 digits and a check digit";
    return result;
  }
  id[17] = static_cast<char>(std::toupper(static_cast<unsigned char>(id[17])));
  if (id[17] != CheckDigit(id)) {
    result.problem = "the 身份证 check digit (GB 11643) is wrong";
    return result;
  }
  if (std::find(std::begin(kProvinces), std::end(kProvinces), Number(id.substr(0, 2))) ==
      std::end(kProvinces)) {
    result.problem = "the 身份证 region code is not a GB/T 2260 province";
    return result;
  }
  const std::string_view birth = std::string_view(id).substr(6, 8);
  if (Number(birth.substr(0, 4)) < 1800 ||
      !RealDate(Number(birth.substr(0, 4)), Number(birth.substr(4, 2)),
                Number(birth.substr(6, 2)))) {
    result.problem = "the 身份证 birth date is not a real date";
    return result;
  }
  if (not_after.size() == 8 && AllDigits(not_after) && birth > not_after) {
    result.problem = "the 身份证 birth date is after the message was sent";
    return result;
  }
  result.valid = true;
  result.normalized = std::move(id);
  return result;
}

}  // namespace mappings::hl7v2
