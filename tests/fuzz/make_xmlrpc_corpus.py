#!/usr/bin/env python3
"""Writes the seed corpus of the xmlrpc fuzz target: request bodies exactly as Python's
xmlrpc.client sends them for the master's methods, plus a few in xmlrpc-c's dialect (<i8>,
<nil/>, dateTime, base64 without line breaks). The images are the jpeg target's seeds (made
by fuzz_corpus_gen). The output is committed under tests/fuzz/corpus/xmlrpc/; rerun when the
contract (docs/api.md) changes:
    python3 tests/fuzz/make_xmlrpc_corpus.py tests/fuzz/corpus/xmlrpc
"""
import base64
import os
import sys
import xmlrpc.client

JPEG_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus", "jpeg")


def tiny_jpeg(name):
    with open(os.path.join(JPEG_DIR, name), "rb") as f:
        return f.read()


def frame(port, frame_id, image, **extra):
    f = {
        "port": port,
        "stream": "lobby",
        "frame_id": frame_id,
        "captured_at": 1700000000.25 + frame_id * 0.04,
        "received_at": 1700000000.5 + frame_id * 0.04,
        "width": 16,
        "height": 8,
        "image": xmlrpc.client.Binary(image),
        "detector": "hog",
    }
    f.update(extra)
    return f


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else "tests/fuzz/corpus/xmlrpc"
    os.makedirs(out, exist_ok=True)
    small = tiny_jpeg("optimized_8x8.jpg")
    other = tiny_jpeg("gray_32x24_q50.jpg")
    result = {
        "detections": [
            {"label": "person", "confidence": 0.875, "x": 10, "y": 20, "w": 30, "h": 60},
            {"label": "face", "confidence": 1, "x": -3, "y": 0, "w": 0, "h": 5},
        ],
        "processing_ms": 12.5,
    }
    calls = {
        "add_task": ((frame(5000, 7, small),), "add_task"),
        "add_task_minimal": (({"port": 5001, "frame_id": 0, "captured_at": 0,
                               "image": xmlrpc.client.Binary(other)},), "add_task"),
        "add_tasks": (([frame(5000, 1, small), frame(5001, 2, other, stream="")],), "add_tasks"),
        "complete_task": (("worker-1", "5000-7-1", result), "complete_task"),
        "complete_task_empty": (("worker-1", "t", {"detections": []}), "complete_task"),
        "register_worker": (("worker-1", "http://10.0.0.5:9000", ["hog", "haar:frontalface"]),
                            "register_worker"),
        "fail_task": (("worker-1", "5000-7-1", "decode: truncated JPEG"), "fail_task"),
        "request_task": (("worker-1", 500), "request_task"),
        "get_summary": ((5000, 1.0, 60.0), "get_summary"),
        "multicall": (([{"methodName": "add_task", "params": [frame(5000, 9, other)]},
                        {"methodName": "heartbeat", "params": ["worker-1"]}],),
                       "system.multicall"),
    }
    for name, (params, method) in calls.items():
        # What ServerProxy posts: dumps() with the default encoding, allow_none=False.
        body = xmlrpc.client.dumps(params, method, encoding="utf-8")
        with open(os.path.join(out, name + ".xml"), "w", encoding="utf-8", newline="") as f:
            f.write(body)

    b64 = base64.b64encode(small).decode()
    xmlrpc_c_style = (
        '<?xml version="1.0" encoding="UTF-8"?>\r\n<methodCall>\r\n'
        "<methodName>add_task</methodName>\r\n<params>\r\n<param><value><struct>\r\n"
        "<member><name>port</name><value><i4>5000</i4></value></member>\r\n"
        "<member><name>frame_id</name><value><ex:i8>4294967296</ex:i8></value></member>\r\n"
        "<member><name>captured_at</name><value><double>1.7e9</double></value></member>\r\n"
        "<member><name>stream</name><value>caf&#233; &amp; &lt;b&gt; <![CDATA[<x>]]></value>"
        "</member>\r\n"
        "<member><name>note</name><value><nil/></value></member>\r\n"
        "<member><name>when</name><value><dateTime.iso8601>20240102T03:04:05"
        "</dateTime.iso8601></value></member>\r\n"
        "<member><name>ok</name><value><boolean>1</boolean></value></member>\r\n"
        "<member><name>image</name><value><base64>" + b64 + "</base64></value></member>\r\n"
        "</struct></value></param>\r\n</params>\r\n</methodCall>\r\n")
    with open(os.path.join(out, "add_task_xmlrpc_c_style.xml"), "w", encoding="utf-8",
              newline="") as f:
        f.write(xmlrpc_c_style)


if __name__ == "__main__":
    main()
