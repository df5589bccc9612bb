#include "fhir/fhirpath/parser.h"

#include <cstdint>
#include <string>
#include <vector>

#include "fhir/fhirpath/evaluator.h"

namespace fhir::fhirpath {
namespace {

enum class Tok : uint8_t {
  kEnd,
  kIdentifier,  // plain or `delimited`
  kString,
  kNumber,
  kDateTime,  // text without '@'
  kVariable,  // %name, text is the name
  kSpecial,   // $this, $index, $total
  kSymbol,    // operators and punctuation
};

struct Token {
  Tok kind = Tok::kEnd;
  std::string text;
  size_t position = 0;
  bool delimited = false;  // `identifier`: never a keyword
};

Error SyntaxError(size_t position, const std::string& message, std::string_view expression) {
  return Error::Invalid(
      "fhirpath.syntax",
      "FHIRPath syntax error at offset " + std::to_string(position) + ": " + message,
      std::string(expression));
}

bool IsIdentStart(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
bool IsIdentChar(char c) { return IsIdentStart(c) || (c >= '0' && c <= '9'); }
bool IsDigit(char c) { return c >= '0' && c <= '9'; }

void AppendUtf8(uint32_t cp, std::string* out) {
  if (cp < 0x80) {
    out->push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out->push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out->push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

class Lexer {
 public:
  explicit Lexer(std::string_view text) : text_(text) {}

  Result<std::vector<Token>> Run() {
    std::vector<Token> out;
    while (true) {
      auto skipped = SkipSpaceAndComments();
      if (!skipped.ok()) return std::move(skipped).error();
      Token t;
      t.position = pos_;
      if (pos_ >= text_.size()) {
        out.push_back(t);
        return out;
      }
      char c = text_[pos_];
      if (IsIdentStart(c)) {
        size_t start = pos_;
        while (pos_ < text_.size() && IsIdentChar(text_[pos_])) ++pos_;
        t.kind = Tok::kIdentifier;
        t.text = std::string(text_.substr(start, pos_ - start));
      } else if (c == '`') {
        auto s = Quoted('`');
        if (!s.ok()) return std::move(s).error();
        t.kind = Tok::kIdentifier;
        t.text = std::move(*s);
        t.delimited = true;
      } else if (c == '\'') {
        auto s = Quoted('\'');
        if (!s.ok()) return std::move(s).error();
        t.kind = Tok::kString;
        t.text = std::move(*s);
      } else if (IsDigit(c)) {
        size_t start = pos_;
        while (pos_ < text_.size() && IsDigit(text_[pos_])) ++pos_;
        if (pos_ + 1 < text_.size() && text_[pos_] == '.' && IsDigit(text_[pos_ + 1])) {
          ++pos_;
          while (pos_ < text_.size() && IsDigit(text_[pos_])) ++pos_;
        }
        t.kind = Tok::kNumber;
        t.text = std::string(text_.substr(start, pos_ - start));
      } else if (c == '@') {
        ++pos_;
        size_t start = pos_;
        ScanDateTime();
        t.kind = Tok::kDateTime;
        t.text = std::string(text_.substr(start, pos_ - start));
        if (t.text.empty()) return SyntaxError(t.position, "'@' without a date or time", text_);
      } else if (c == '%') {
        ++pos_;
        t.kind = Tok::kVariable;
        if (pos_ < text_.size() && (text_[pos_] == '`' || text_[pos_] == '\'')) {
          auto s = Quoted(text_[pos_]);
          if (!s.ok()) return std::move(s).error();
          t.text = std::move(*s);
        } else {
          size_t start = pos_;
          while (pos_ < text_.size() && IsIdentChar(text_[pos_])) ++pos_;
          t.text = std::string(text_.substr(start, pos_ - start));
          if (t.text.empty()) return SyntaxError(t.position, "'%' without a name", text_);
        }
      } else if (c == '$') {
        ++pos_;
        size_t start = pos_;
        while (pos_ < text_.size() && IsIdentChar(text_[pos_])) ++pos_;
        t.kind = Tok::kSpecial;
        t.text = std::string(text_.substr(start, pos_ - start));
        if (t.text != "this" && t.text != "index" && t.text != "total") {
          return SyntaxError(t.position, "unknown '$" + t.text + "'", text_);
        }
      } else {
        static constexpr std::string_view kTwo[] = {"<=", ">=", "!=", "!~"};
        t.kind = Tok::kSymbol;
        for (std::string_view two : kTwo) {
          if (text_.substr(pos_, 2) == two) t.text = std::string(two);
        }
        if (t.text.empty()) {
          if (std::string_view(".[](){},+-*/&|=~<>").find(c) == std::string_view::npos) {
            return SyntaxError(pos_, std::string("unexpected character '") + c + "'", text_);
          }
          t.text = std::string(1, c);
        }
        pos_ += t.text.size();
      }
      out.push_back(std::move(t));
    }
  }

 private:
  Result<void> SkipSpaceAndComments() {
    while (pos_ < text_.size()) {
      char c = text_[pos_];
      if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
        ++pos_;
      } else if (text_.substr(pos_, 2) == "//") {
        while (pos_ < text_.size() && text_[pos_] != '\n') ++pos_;
      } else if (text_.substr(pos_, 2) == "/*") {
        size_t end = text_.find("*/", pos_ + 2);
        if (end == std::string_view::npos) {
          return SyntaxError(pos_, "unterminated comment", text_);
        }
        pos_ = end + 2;
      } else {
        break;
      }
    }
    return {};
  }

  Result<std::string> Quoted(char quote) {
    size_t start = pos_;
    ++pos_;
    std::string out;
    while (pos_ < text_.size() && text_[pos_] != quote) {
      char c = text_[pos_++];
      if (c != '\\') {
        out.push_back(c);
        continue;
      }
      if (pos_ >= text_.size()) break;
      char e = text_[pos_++];
      switch (e) {
        case 'n':
          out.push_back('\n');
          break;
        case 'r':
          out.push_back('\r');
          break;
        case 't':
          out.push_back('\t');
          break;
        case 'f':
          out.push_back('\f');
          break;
        case '\\':
        case '/':
        case '\'':
        case '"':
        case '`':
          out.push_back(e);
          break;
        case 'u': {
          if (pos_ + 4 > text_.size()) return SyntaxError(pos_, "bad \\u escape", text_);
          uint32_t cp = 0;
          for (int i = 0; i < 4; ++i) {
            char h = text_[pos_++];
            cp <<= 4;
            if (h >= '0' && h <= '9')
              cp |= h - '0';
            else if (h >= 'a' && h <= 'f')
              cp |= h - 'a' + 10;
            else if (h >= 'A' && h <= 'F')
              cp |= h - 'A' + 10;
            else
              return SyntaxError(pos_ - 1, "bad \\u escape", text_);
          }
          AppendUtf8(cp, &out);
          break;
        }
        default:
          return SyntaxError(pos_ - 2, std::string("unknown escape '\\") + e + "'", text_);
      }
    }
    if (pos_ >= text_.size()) return SyntaxError(start, "unterminated literal", text_);
    ++pos_;
    return out;
  }

  // The characters a date/time literal may hold; a '.', '-', '+' or ':' counts only when a digit
  // follows, so "@2015-02-04.is(Date)" and "@2015 - 1 year" lex as intended.
  void ScanDateTime() {
    while (pos_ < text_.size()) {
      char c = text_[pos_];
      bool next_digit = pos_ + 1 < text_.size() && IsDigit(text_[pos_ + 1]);
      if (IsDigit(c) || c == 'T' || c == 'Z' ||
          ((c == '-' || c == '+' || c == ':' || c == '.') && next_digit)) {
        ++pos_;
        if (c == 'Z') break;
      } else {
        break;
      }
    }
  }

  std::string_view text_;
  size_t pos_ = 0;
};

bool IsCalendarUnitWord(std::string_view s) { return IsCalendarKeyword(s); }

class Parser {
 public:
  Parser(std::string_view text, std::vector<Token> tokens, const model::Definitions& defs)
      : text_(text), tokens_(std::move(tokens)), defs_(defs) {}

  Result<std::unique_ptr<AstNode>> Run() {
    auto e = Expression(0);
    if (!e.ok()) return e;
    if (Peek().kind != Tok::kEnd) return Unexpected();
    return e;
  }

 private:
  const Token& Peek(size_t ahead = 0) const {
    size_t i = std::min(pos_ + ahead, tokens_.size() - 1);
    return tokens_[i];
  }
  bool IsSymbol(std::string_view s) const {
    return Peek().kind == Tok::kSymbol && Peek().text == s;
  }
  bool IsKeyword(std::string_view s) const {
    return Peek().kind == Tok::kIdentifier && !Peek().delimited && Peek().text == s;
  }
  Error Unexpected() const {
    const Token& t = Peek();
    if (t.kind == Tok::kEnd) return SyntaxError(t.position, "unexpected end of expression", text_);
    return SyntaxError(t.position, "unexpected '" + t.text + "'", text_);
  }

  // Binary operators by precedence level, loosest first.
  static int Level(const Token& t, BinaryOp* op, bool* type_op) {
    *type_op = false;
    struct Entry {
      std::string_view text;
      bool word;
      int level;
      BinaryOp op;
    };
    static constexpr Entry kOps[] = {
        {"implies", true, 1, BinaryOp::kImplies}, {"or", true, 2, BinaryOp::kOr},
        {"xor", true, 2, BinaryOp::kXor},         {"and", true, 3, BinaryOp::kAnd},
        {"in", true, 4, BinaryOp::kIn},           {"contains", true, 4, BinaryOp::kContains},
        {"=", false, 5, BinaryOp::kEqual},        {"~", false, 5, BinaryOp::kEquivalent},
        {"!=", false, 5, BinaryOp::kNotEqual},    {"!~", false, 5, BinaryOp::kNotEquivalent},
        {"<", false, 6, BinaryOp::kLess},         {">", false, 6, BinaryOp::kGreater},
        {"<=", false, 6, BinaryOp::kLessOrEqual}, {">=", false, 6, BinaryOp::kGreaterOrEqual},
        {"|", false, 7, BinaryOp::kUnion},        {"+", false, 9, BinaryOp::kAdd},
        {"-", false, 9, BinaryOp::kSubtract},     {"&", false, 9, BinaryOp::kConcatenate},
        {"*", false, 10, BinaryOp::kMultiply},    {"/", false, 10, BinaryOp::kDivide},
        {"div", true, 10, BinaryOp::kDiv},        {"mod", true, 10, BinaryOp::kMod},
    };
    if (t.kind == Tok::kIdentifier && !t.delimited && (t.text == "is" || t.text == "as")) {
      *type_op = true;
      return 8;
    }
    for (const Entry& e : kOps) {
      bool kind_ok = e.word ? (t.kind == Tok::kIdentifier && !t.delimited) : t.kind == Tok::kSymbol;
      if (kind_ok && t.text == e.text) {
        *op = e.op;
        return e.level;
      }
    }
    return 0;
  }

  Result<std::unique_ptr<AstNode>> Expression(int min_level) {
    auto left = Unary();
    if (!left.ok()) return left;
    std::unique_ptr<AstNode> lhs = std::move(*left);
    while (true) {
      BinaryOp op;
      bool type_op;
      int level = Level(Peek(), &op, &type_op);
      if (level == 0 || level <= min_level) break;
      const Token& t = Peek();
      auto node = std::make_unique<AstNode>();
      node->position = t.position;
      if (type_op) {
        node->kind = t.text == "is" ? AstKind::kIs : AstKind::kAs;
        ++pos_;
        auto spec = QualifiedTypeName();
        if (!spec.ok()) return std::move(spec).error();
        node->type = std::move(*spec);
        node->children.push_back(std::move(lhs));
        lhs = std::move(node);
        continue;
      }
      ++pos_;
      auto rhs = Expression(level);
      if (!rhs.ok()) return rhs;
      node->kind = AstKind::kBinary;
      node->op = op;
      node->children.push_back(std::move(lhs));
      node->children.push_back(std::move(*rhs));
      lhs = std::move(node);
    }
    return lhs;
  }

  Result<std::unique_ptr<AstNode>> Unary() {
    if (IsSymbol("-") || IsSymbol("+")) {
      bool negate = IsSymbol("-");
      size_t position = Peek().position;
      ++pos_;
      auto operand = Unary();
      if (!operand.ok()) return operand;
      if (!negate) return operand;
      auto node = std::make_unique<AstNode>();
      node->kind = AstKind::kNegate;
      node->position = position;
      node->children.push_back(std::move(*operand));
      return node;
    }
    return Invocations();
  }

  Result<std::unique_ptr<AstNode>> Invocations() {
    auto term = Term();
    if (!term.ok()) return term;
    std::unique_ptr<AstNode> node = std::move(*term);
    while (true) {
      if (IsSymbol(".")) {
        ++pos_;
        if (Peek().kind != Tok::kIdentifier) return Unexpected();
        auto next = NameOrCall(std::move(node));
        if (!next.ok()) return next;
        node = std::move(*next);
      } else if (IsSymbol("[")) {
        size_t position = Peek().position;
        ++pos_;
        auto index = Expression(0);
        if (!index.ok()) return index;
        if (!IsSymbol("]")) return Unexpected();
        ++pos_;
        auto idx = std::make_unique<AstNode>();
        idx->kind = AstKind::kIndexer;
        idx->position = position;
        idx->children.push_back(std::move(node));
        idx->children.push_back(std::move(*index));
        node = std::move(idx);
      } else {
        return node;
      }
    }
  }

  // Looks up the element a member names when the target's type is known, so that evaluation
  // skips the lookup by name.
  static void ResolveMember(const AstNode& target, AstNode* node) {
    const model::TypeDef* parent = target.static_type;
    if (parent == nullptr) return;
    const model::TypeDef* chosen = nullptr;
    const model::ElementDef* def = parent->FindElement(node->name, &chosen);
    if (def == nullptr) {
      def = parent->FindElementByName(node->name);  // a choice by its base name
      if (def == nullptr) return;
      node->member = def;
      return;
    }
    node->member = def;
    const bool by_type = def->is_choice && node->name != def->name;
    if (by_type) node->member_chosen = chosen;
    if (!def->is_choice || by_type) node->static_type = chosen;
  }

  // After '.' or at a term: a member name or a function call on `target` (nullptr for a term).
  Result<std::unique_ptr<AstNode>> NameOrCall(std::unique_ptr<AstNode> target) {
    const Token name = Peek();
    ++pos_;
    auto node = std::make_unique<AstNode>();
    node->position = name.position;
    node->name = name.text;
    if (!IsSymbol("(")) {
      node->kind = target ? AstKind::kMember : AstKind::kIdentifier;
      // A capitalised name at the start of a path may name the context's type ("Patient.name").
      if (!target && !node->name.empty() && node->name[0] >= 'A' && node->name[0] <= 'Z') {
        node->type.fhir = defs_.FindType(node->name);
        if (node->type.fhir != nullptr && node->type.fhir->is_resource()) {
          node->static_type = node->type.fhir;
        }
      }
      if (target) {
        ResolveMember(*target, node.get());
        node->children.push_back(std::move(target));
      }
      return node;
    }
    ++pos_;
    node->kind = AstKind::kFunction;
    node->children.push_back(std::move(target));
    if (!IsSymbol(")")) {
      while (true) {
        auto arg = Expression(0);
        if (!arg.ok()) return arg;
        node->children.push_back(std::move(*arg));
        if (IsSymbol(",")) {
          ++pos_;
          continue;
        }
        break;
      }
    }
    if (!IsSymbol(")")) return Unexpected();
    ++pos_;
    auto checked = CheckFunction(node.get());
    if (!checked.ok()) return std::move(checked).error();
    return node;
  }

  Result<void> CheckFunction(AstNode* node) {
    const FunctionDef* def = FindFunction(node->name);
    if (def == nullptr) {
      return Error::Invalid("fhirpath.unknown-function",
                            "Unknown FHIRPath function '" + node->name + "' at offset " +
                                std::to_string(node->position),
                            std::string(text_));
    }
    int n = static_cast<int>(node->arg_count());
    if (n < def->min_args || (def->max_args >= 0 && n > def->max_args)) {
      return Error::Invalid(
          "fhirpath.wrong-arity",
          "Function '" + node->name + "' at offset " + std::to_string(node->position) + " takes " +
              std::to_string(def->min_args) +
              (def->max_args == def->min_args
                   ? std::string()
                   : (def->max_args < 0 ? " or more" : " to " + std::to_string(def->max_args))) +
              " arguments, not " + std::to_string(n),
          std::string(text_));
    }
    node->function = def;
    if (def->type_argument) {
      auto spec = TypeFromAst(node->arg(0));
      if (!spec.ok()) return std::move(spec).error();
      node->type = std::move(*spec);
    }
    if ((node->name == "matches" || node->name == "matchesFull" ||
         node->name == "replaceMatches") &&
        node->arg(0).kind == AstKind::kLiteral && node->arg(0).literal.kind == ValueKind::kString) {
      auto re = CompileRegex(node->arg(0).text, node->position);
      if (!re.ok()) return std::move(re).error();
      node->regex = std::move(*re);
    }
    return {};
  }

  Result<std::shared_ptr<const std::regex>> CompileRegex(const std::string& pattern,
                                                         size_t position) {
    auto re = CompileFhirpathRegex(pattern);
    if (re == nullptr) {
      return Error::Invalid("fhirpath.bad-regex",
                            "Invalid regular expression at offset " + std::to_string(position),
                            std::string(text_));
    }
    return re;
  }

  Result<TypeSpec> Resolve(std::string_view ns, std::string_view name, size_t position) {
    TypeSpec spec;
    spec.name = std::string(name);
    static constexpr std::pair<std::string_view, SystemType> kSystem[] = {
        {"Boolean", SystemType::kBoolean}, {"Integer", SystemType::kInteger},
        {"Decimal", SystemType::kDecimal}, {"String", SystemType::kString},
        {"Date", SystemType::kDate},       {"DateTime", SystemType::kDateTime},
        {"Time", SystemType::kTime},       {"Quantity", SystemType::kQuantity},
    };
    if (ns.empty() || ns == "System") {
      for (const auto& [n, t] : kSystem) {
        if (n == name) spec.system = t;
      }
    }
    if (ns.empty() || ns == "FHIR") spec.fhir = defs_.FindType(name);
    if (ns == "System") return spec;
    if (spec.fhir == nullptr && spec.system == SystemType::kNone) {
      return Error::Invalid(
          "fhirpath.unknown-type",
          "Unknown type '" + std::string(name) + "' at offset " + std::to_string(position),
          std::string(text_));
    }
    return spec;
  }

  Result<TypeSpec> QualifiedTypeName() {
    if (Peek().kind != Tok::kIdentifier) return Unexpected();
    Token first = Peek();
    ++pos_;
    if (IsSymbol(".") && Peek(1).kind == Tok::kIdentifier) {
      ++pos_;
      Token second = Peek();
      ++pos_;
      return Resolve(first.text, second.text, first.position);
    }
    return Resolve("", first.text, first.position);
  }

  Result<TypeSpec> TypeFromAst(const AstNode& arg) {
    if (arg.kind == AstKind::kIdentifier) return Resolve("", arg.name, arg.position);
    if (arg.kind == AstKind::kMember && arg.target()->kind == AstKind::kIdentifier) {
      return Resolve(arg.target()->name, arg.name, arg.position);
    }
    return Error::Invalid("fhirpath.type-expected",
                          "A type name is expected at offset " + std::to_string(arg.position),
                          std::string(text_));
  }

  Result<std::unique_ptr<AstNode>> Term() {
    const Token& t = Peek();
    auto node = std::make_unique<AstNode>();
    node->position = t.position;
    switch (t.kind) {
      case Tok::kIdentifier: {
        if (!t.delimited && (t.text == "true" || t.text == "false")) {
          node->kind = AstKind::kLiteral;
          node->literal = Value::OfBoolean(t.text == "true");
          ++pos_;
          return node;
        }
        return NameOrCall(nullptr);
      }
      case Tok::kString:
        node->kind = AstKind::kLiteral;
        node->text = t.text;
        node->literal = Value::OfString(node->text);
        ++pos_;
        return node;
      case Tok::kNumber:
        return Number();
      case Tok::kDateTime: {
        auto parsed = Temporal::ParseLiteral(t.text);
        if (!parsed) return SyntaxError(t.position, "invalid date/time '@" + t.text + "'", text_);
        node->kind = AstKind::kLiteral;
        node->literal = Value::OfTemporal(*parsed);
        ++pos_;
        return node;
      }
      case Tok::kVariable:
        node->kind = AstKind::kVariable;
        node->name = t.text;
        ++pos_;
        return node;
      case Tok::kSpecial:
        node->kind = t.text == "this" ? AstKind::kThis
                                      : (t.text == "index" ? AstKind::kIndex : AstKind::kTotal);
        ++pos_;
        return node;
      case Tok::kSymbol:
        if (t.text == "(") {
          ++pos_;
          auto inner = Expression(0);
          if (!inner.ok()) return inner;
          if (!IsSymbol(")")) return Unexpected();
          ++pos_;
          return inner;
        }
        if (t.text == "{" && Peek(1).kind == Tok::kSymbol && Peek(1).text == "}") {
          pos_ += 2;
          node->kind = AstKind::kEmpty;
          return node;
        }
        return Unexpected();
      case Tok::kEnd:
        return Unexpected();
    }
    return Unexpected();
  }

  Result<std::unique_ptr<AstNode>> Number() {
    const Token& t = Peek();
    auto node = std::make_unique<AstNode>();
    node->position = t.position;
    node->kind = AstKind::kLiteral;
    auto d = Decimal::Parse(t.text);
    if (!d) return SyntaxError(t.position, "number out of range '" + t.text + "'", text_);
    ++pos_;
    const bool has_point = t.text.find('.') != std::string::npos;
    // A quantity: a number followed by a unit string or a calendar keyword.
    const Token& next = Peek();
    if (next.kind == Tok::kString ||
        (next.kind == Tok::kIdentifier && !next.delimited && IsCalendarUnitWord(next.text))) {
      node->text = next.text;
      node->literal = Value::OfQuantity(*d, node->text);
      ++pos_;
      return node;
    }
    if (has_point) {
      node->literal = Value::OfDecimal(*d);
    } else {
      auto i = d->ToInteger();
      if (!i || *i > INT32_MAX) {
        node->literal = Value::OfDecimal(*d);
      } else {
        node->literal = Value::OfInteger(*i);
      }
    }
    return node;
  }

  std::string_view text_;
  std::vector<Token> tokens_;
  const model::Definitions& defs_;
  size_t pos_ = 0;
};

}  // namespace

Result<std::unique_ptr<AstNode>> ParseExpression(std::string_view text,
                                                 const model::Definitions& defs) {
  auto tokens = Lexer(text).Run();
  if (!tokens.ok()) return std::move(tokens).error();
  return Parser(text, std::move(*tokens), defs).Run();
}

}  // namespace fhir::fhirpath
