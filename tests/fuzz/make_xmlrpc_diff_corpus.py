#!/usr/bin/env python3
"""Writes the seed corpus of the xmlrpc_diff fuzz target (our codec against xmlrpc-c's parser):
the xmlrpc target's calls (copied), responses and faults as Python's xmlrpc.client writes them,
and small documents for each value type and XML feature both parsers read (comments, CDATA,
entities, character references, CRLF, a BOM, the XML declaration, <i8>, <nil/>). The output is
committed under tests/fuzz/corpus/xmlrpc_diff/:
    python3 tests/fuzz/make_xmlrpc_diff_corpus.py tests/fuzz/corpus/xmlrpc_diff
"""
import datetime
import os
import shutil
import sys
import xmlrpc.client

HERE = os.path.dirname(os.path.abspath(__file__))

CALL = '<?xml version="1.0"?>\n<methodCall><methodName>m</methodName><params>%s</params></methodCall>\n'
RESPONSE = '<?xml version="1.0"?>\n<methodResponse><params><param>%s</param></params></methodResponse>\n'

# One <value> each: every type, and the XML features inside text.
VALUES = {
    "int": "<value><int>-2147483648</int></value>",
    "i4": "<value><i4> 42 </i4></value>",
    "i8": "<value><i8>9223372036854775807</i8></value>",
    "ex_i8": "<value><ex:i8>-5</ex:i8></value>",
    "boolean": "<value><boolean>1</boolean></value>",
    "double": "<value><double>-0.000125</double></value>",
    "double_exp": "<value><double>1.5e300</double></value>",
    "string": "<value><string>a &lt;b&gt; &amp; &quot;c&quot; &apos;d&apos;</string></value>",
    "string_untyped": "<value>plain text</value>",
    "string_empty": "<value><string/></value>",
    "string_charref": "<value><string>&#65;&#x42;&#xe9;&#x20AC;</string></value>",
    "string_utf8": "<value><string>caf\u00e9 \u20ac \u65e5\u672c</string></value>",
    "string_cdata": "<value><string><![CDATA[<not a tag> & ]]></string></value>",
    "string_comment": "<value><string>a<!-- c -->b</string></value>",
    "string_crlf": "<value><string>line1\r\nline2\rline3</string></value>",
    "base64": "<value><base64>aGVsbG8gd29ybGQ=</base64></value>",
    "base64_wrapped": "<value><base64>\naGVsbG8g\nd29ybGQh\n</base64></value>",
    "base64_empty": "<value><base64></base64></value>",
    "datetime": "<value><dateTime.iso8601>20240229T23:59:58</dateTime.iso8601></value>",
    "datetime_dashes": "<value><dateTime.iso8601>2024-02-29T23:59:58</dateTime.iso8601></value>",
    "nil": "<value><nil/></value>",
    "ex_nil": "<value><ex:nil/></value>",
    "array": "<value><array><data><value><int>1</int></value><value>x</value></data></array></value>",
    "array_empty": "<value><array><data></data></array></value>",
    "struct": ("<value><struct><member><name>a</name><value><int>1</int></value></member>"
               "<member><name>b</name><value><array><data><value><struct></struct></value>"
               "</data></array></value></member></struct></value>"),
    "struct_dup_key": ("<value><struct><member><name>k</name><value>1</value></member>"
                       "<member><name>k</name><value>2</value></member></struct></value>"),
    "nested": "<value><array><data>" * 8 + "<value>deep</value>" + "</data></array></value>" * 8,
}


def write(out, name, text):
    with open(os.path.join(out, name), "wb") as f:
        f.write(text.encode("utf-8") if isinstance(text, str) else text)


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "corpus", "xmlrpc_diff")
    os.makedirs(out, exist_ok=True)
    calls = os.path.join(HERE, "corpus", "xmlrpc")
    for name in sorted(os.listdir(calls)):
        shutil.copy(os.path.join(calls, name), os.path.join(out, "call_" + name))
    for name, v in VALUES.items():
        write(out, "call_%s.xml" % name, CALL % ("<param>%s</param>" % v))
        write(out, "response_%s.xml" % name, RESPONSE % v)
    # Python's own documents.
    task = {"task_id": "t-1", "port": 9000, "frame_id": 7, "captured_at": 1700000000.25,
            "image": xmlrpc.client.Binary(b"\xff\xd8\xff\xe0" + bytes(range(64))),
            "when": xmlrpc.client.DateTime(datetime.datetime(2024, 1, 2, 3, 4, 5))}
    write(out, "response_python_task.xml", xmlrpc.client.dumps((task,), methodresponse=True))
    write(out, "response_python_empty_struct.xml", xmlrpc.client.dumps(({},), methodresponse=True))
    write(out, "response_python_none.xml",
          xmlrpc.client.dumps((None,), methodresponse=True, allow_none=True))
    write(out, "fault_python.xml", xmlrpc.client.dumps(xmlrpc.client.Fault(-507, "no such task")))
    write(out, "fault_minimal.xml",
          "<methodResponse><fault><value><struct><member><name>faultCode</name><value><int>4"
          "</int></value></member><member><name>faultString</name><value>x</value></member>"
          "</struct></value></fault></methodResponse>")
    # The document level.
    write(out, "call_no_params.xml", "<methodCall><methodName>system.listMethods</methodName></methodCall>")
    write(out, "call_empty_params.xml", "<methodCall><methodName>m</methodName><params/></methodCall>")
    write(out, "call_bom_decl_encoding.xml",
          b"\xef\xbb\xbf<?xml version='1.0' encoding='UTF-8'?>" + (CALL % "").split("\n", 1)[1].encode())
    write(out, "call_pi_comments.xml",
          "<?xml version=\"1.0\"?><!-- c --><?pi x?><methodCall><!-- c --><methodName>m</methodName>"
          "<params><param><value>1</value></param></params></methodCall><!-- end -->")
    write(out, "call_attributes.xml",
          "<methodCall xmlns:ex=\"http://ws.apache.org/xmlrpc/namespaces/extensions\">"
          "<methodName>m</methodName><params><param><value><ex:i8>1</ex:i8></value></param>"
          "</params></methodCall>")
    # The intended differences (fuzz_xmlrpc_diff.cpp) and the limits.
    write(out, "diff_doctype.xml", "<!DOCTYPE m><methodCall><methodName>m</methodName></methodCall>")
    write(out, "diff_latin1.xml", '<?xml version="1.0" encoding="ISO-8859-1"?>'
          "<methodCall><methodName>m</methodName></methodCall>")
    write(out, "diff_stray_text.xml", CALL % "<param><value><int>1</int>x</value></param>x")
    write(out, "diff_double_inf.xml", CALL % "<param><value><double>inf</double></value></param>")
    write(out, "diff_int_spaces.xml", CALL % "<param><value><int> 7 </int></value></param>")
    for depth in (64, 65):
        write(out, "diff_depth_%d.xml" % depth, CALL % ("<param>" + "<value><array><data>" * (depth - 1)
              + "<value>x</value>" + "</data></array></value>" * (depth - 1) + "</param>"))
    write(out, "call_crlf.xml", (CALL % "<param><value><int>1</int></value></param>").replace("\n", "\r\n"))


if __name__ == "__main__":
    main()
