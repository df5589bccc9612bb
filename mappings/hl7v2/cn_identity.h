// Chinese resident identity card numbers (公民身份号码, GB 11643-1999). Internal to
// mappings/hl7v2.
#ifndef MAPPINGS_HL7V2_CN_IDENTITY_H_
#define MAPPINGS_HL7V2_CN_IDENTITY_H_

#include <string>
#include <string_view>

namespace mappings::hl7v2 {

// The identifier system of 身份证 numbers (WS/T 500 患者身份证号标识).
inline constexpr std::string_view kCnIdentitySystem = "urn:oid:2.16.156.10011.1.3";

struct CnIdentityCheck {
  bool valid = false;
  std::string normalized;  // 18 characters, check digit X upper case; set when valid
  bool upgraded = false;   // a 15-digit number of before 1999, upgraded to 18 digits
  std::string problem;     // why it is not valid, without the number itself
};

// Checks a 身份证 number: 18 characters (17 digits and a check digit, x read as X) with the
// GB 11643 check digit right, a province code of GB/T 2260, a real birth date from 1800 on and
// not after `not_after` (YYYYMMDD, the message's date; empty to skip that rule). A 15-digit
// number (YYMMDD, no check digit) is upgraded to its 18-digit form.
CnIdentityCheck CheckCnIdentity(std::string_view number, std::string_view not_after);

}  // namespace mappings::hl7v2

#endif  // MAPPINGS_HL7V2_CN_IDENTITY_H_
