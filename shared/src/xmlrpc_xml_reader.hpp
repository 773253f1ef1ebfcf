#pragma once
// The XML level of the XML-RPC parser (xmlrpc_xml_reader.cpp): a cursor over one document
// that reads the prolog, start and end tags, character data (entities, CDATA, comments, UTF-8
// checked) and fails with the line, column and an excerpt. No DTDs, no namespaces (attributes
// are checked for syntax and ignored). The XML-RPC grammar is in xmlrpc_parser.cpp.
// Not thread-safe: one reader per document.

#include <cstddef>
#include <string>
#include <string_view>

namespace fh::shared::xmlrpc::detail {

class XmlReader {
 public:
  explicit XmlReader(std::string_view xml)
      : begin_(xml.data()), p_(xml.data()), end_(xml.data() + xml.size()) {}

  struct Tag {
    std::string_view name;
    bool empty = false;  ///< <name/>
  };

  /// Throws CodecError: what, where (line and column of the read position) and an excerpt.
  [[noreturn]] void fail(const std::string& what) const;
  /// Throws LimitError: what (naming the limit) and where, as fail() does.
  [[noreturn]] void fail_limit(const std::string& what) const;

  /// The BOM, the XML declaration (only UTF-8), comments and processing instructions.
  void prolog();
  /// Comments and processing instructions, then the end of the document.
  void epilog();

  bool at_end_tag() const { return end_ - p_ >= 2 && p_[0] == '<' && p_[1] == '/'; }
  /// Whitespace, comments and processing instructions between elements.
  void skip_misc();
  /// At '<' of a start tag: reads it, attributes skipped.
  Tag start_tag();
  /// skip_misc(), then reads <name> or <name/>; returns true for <name/>.
  bool expect_start(std::string_view name);
  /// skip_misc(), then reads </name>.
  void expect_end(std::string_view name);

  /// Character data up to the next start or end tag (comments and processing instructions
  /// skipped, CDATA copied, references decoded) into out.
  void read_text(std::string& out);
  /// At the character data of <name>: when it runs straight to an end tag, sets text to it in
  /// place (nothing decoded or checked), moves to that end tag and returns true; returns false
  /// and moves nothing when a comment, CDATA section or start tag comes first.
  bool text_in_place(std::string_view name, std::string_view& text);

 private:
  /// "line L, column C: what (near '...')" for the read position.
  std::string where(const std::string& what) const;
  bool starts_with(std::string_view s) const;
  void skip_ws();
  /// The end of the name that starts at q (ASCII letters, digits, '_', ':', '.', '-'); fails
  /// at a non-ASCII character (XML-RPC's names are ASCII).
  const char* name_end(const char* q);
  void skip_comment();
  /// Fails unless text is UTF-8 of characters XML allows (comments, processing instructions,
  /// attribute values); `where` names the place in the message.
  void check_chars(std::string_view text, const char* where);
  void skip_pi();
  /// One attribute of a start tag: checked for syntax, ignored.
  void skip_attribute();
  /// skip_misc(), then fails at a DOCTYPE or other declaration.
  void misc_and_declarations();
  /// The pseudo-attributes of the XML declaration (decl: between "<?xml" and "?>"): version
  /// 1.x, then optionally encoding (UTF-8 or ASCII only) and standalone.
  void check_declaration(std::string_view decl);
  /// The value of pseudo-attribute which (0 version, 1 encoding, 2 standalone).
  void check_declared(std::size_t which, std::string_view value);
  void append_chars(const char* b, const char* e, std::string& out);
  void entity(std::string& out);

  const char* begin_;  ///< start of the document
  const char* p_;      ///< read position
  const char* end_;    ///< end of the document
};

}  // namespace fh::shared::xmlrpc::detail
