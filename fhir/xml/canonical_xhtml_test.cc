#include "fhir/xml/canonical_xhtml.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "fhir/xml/xml.h"

namespace fhir::xml {
namespace {

constexpr size_t kDepth = 128;

std::string Div(std::string_view content) {
  return R"(<div xmlns="http://www.w3.org/1999/xhtml">)" + std::string(content) + "</div>";
}

// Whatever the recogniser accepts, the parser must return unchanged.
void ExpectAgreesWithParser(const std::string& markup) {
  if (!IsCanonicalXhtml(markup, kDepth)) return;
  auto canonical = CanonicalXhtml(markup);
  ASSERT_TRUE(canonical.ok()) << markup;
  EXPECT_EQ(*canonical, markup);
}

TEST(CanonicalXhtmlTest, AcceptsWhatTheParserProduces) {
  const std::vector<std::string> inputs = {
      R"(<div xmlns="http://www.w3.org/1999/xhtml"/>)",
      Div("plain text"),
      Div(R"(<p class="a&amp;b" title="&lt;&gt;&quot;&#9;&#10;&#13;'">x &amp; y &lt; z &gt; &quot;q&quot; 'a'&#13;</p>)"),
      Div("<table><tr><td>1</td><td/></tr></table><br/>\n\t"),
      Div(R"(<p xml:lang="zh">中文 😀 é</p>)"),
      R"(<div xmlns="http://www.w3.org/1999/xhtml" id="n" xml:lang="en"><a href="#x">link</a></div>)",
      Div("<h1.x-y_z>t</h1.x-y_z>"),
  };
  for (const std::string& input : inputs) {
    EXPECT_TRUE(IsCanonicalXhtml(input, kDepth)) << input;
    auto canonical = CanonicalXhtml(input);
    ASSERT_TRUE(canonical.ok()) << input;
    EXPECT_EQ(*canonical, input);
  }
}

TEST(CanonicalXhtmlTest, RejectsAnythingElse) {
  const std::vector<std::string> inputs = {
      "",
      "<div/>",
      R"(<div xmlns='http://www.w3.org/1999/xhtml'/>)",
      R"(<div xmlns="http://www.w3.org/1999/xhtml" />)",
      R"(<div xmlns="http://www.w3.org/1999/xhtml"></div>)",
      R"(<div xmlns="http://www.w3.org/1999/xhtml" xmlns="http://www.w3.org/1999/xhtml"/>)",
      R"(<div xmlns="http://www.w3.org/1999/xhtml"/> )",
      R"( <div xmlns="http://www.w3.org/1999/xhtml"/>)",
      R"(<div xmlns="http://www.w3.org/1999/xhtml"/><p/>)",
      R"(<?xml version="1.0"?><div xmlns="http://www.w3.org/1999/xhtml"/>)",
      Div("<td></td>"),
      Div("<p xmlns=\"urn:x\">x</p>"),
      Div("<p xmlns:l=\"urn:l\" l:href=\"x\">x</p>"),
      Div("<p xml:space=\"preserve\">x</p>"),
      Div("<p a=\"1\" a=\"2\">x</p>"),
      Div("<p a='1'>x</p>"),
      Div("<p a=\"1\"b=\"2\">x</p>"),
      Div("<p a=\"x\ny\">x</p>"),
      Div("<p a=\"x<y\">x</p>"),
      Div("<p a=\"x>y\">x</p>"),
      Div("<p >x</p>"),
      Div("<p>x</p >"),
      Div("<p>x</q>"),
      Div("<p>x"),
      Div("<!-- c -->"),
      Div("<?pi x?>"),
      Div("<![CDATA[x]]>"),
      Div("&nbsp;"),
      Div("&#160;"),
      Div("&#10;"),
      Div("a > b"),
      Div("\"q\""),
      Div("a\r\nb"),
      Div(std::string("a\x01") + "b"),
      Div("\xC3\x28"),
      Div("\xED\xA0\x80"),
      Div("\xEF\xBF\xBF"),
      Div("\xF4\x90\x80\x80"),
      Div("\xC0\x80"),
      Div("<é>x</é>"),
      Div("<h:p>x</h:p>"),
      Div("<1p>x</1p>"),
  };
  for (const std::string& input : inputs) {
    EXPECT_FALSE(IsCanonicalXhtml(input, kDepth)) << input;
    ExpectAgreesWithParser(input);
  }
}

TEST(CanonicalXhtmlTest, HonoursTheDepthLimit) {
  const std::string nested = Div("<p><b><i/></b></p>");
  EXPECT_TRUE(IsCanonicalXhtml(nested, 4));
  EXPECT_FALSE(IsCanonicalXhtml(nested, 3));
  EXPECT_FALSE(IsCanonicalXhtml(nested, 0));
  ParseOptions shallow;
  shallow.max_depth = 3;
  EXPECT_FALSE(CanonicalXhtml(nested, shallow).ok());
}

}  // namespace
}  // namespace fhir::xml
