#!/usr/bin/python3
"""Writes the tiny DNN test models of tests/worker/test_detector_dnn_models.cpp (no weights can be
downloaded): ONNX models in each output layout the dnn detector decodes, and a Caffe SSD with the
real MobileNet-SSD head (PriorBox + DetectionOutput). Usage: make_dnn_models.py OUT_DIR

Every model takes a 64x64 image, max-pools it to a 4x4 grid of 16x16 cells and looks at each
cell's brightest R, G, B (0..1 with scale=1/255, mean 0, swap_rb=1, so channel 0 is R):
  - a white cell is class 1 "widget" in the SSD models (class 0 "widget" in the YOLO ones),
  - a blue cell is class 2 "gadget" (class 1 in YOLO),
  - a black cell is below every test threshold,
with the confidences stated per model below, and a box equal to its cell (SSD) or a 24x24 box
centred on the cell (YOLO). Needs python3-onnx (Debian) and numpy; OpenCV is not needed.
"""
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto as T
from onnx import helper as h
from onnx import numpy_helper as nh

GRID = 4
CELL = 16
SIZE = GRID * CELL
N = GRID * GRID


def cell_xy():
    """(col, row) of each of the N cells, row-major (the order Reshape flattens them in)."""
    return [(i % GRID, i // GRID) for i in range(N)]


OPSET = [12]  # the opset save() writes; main() writes the layouts again at others


def save(path, nodes, inits, out_shape):
    opset = OPSET[0]
    g = h.make_graph(nodes, os.path.basename(path),
                     [h.make_tensor_value_info("images", T.FLOAT, [1, 3, SIZE, SIZE])],
                     [h.make_tensor_value_info("output0", T.FLOAT, out_shape)], inits)
    m = h.make_model(g, opset_imports=[h.make_opsetid("", opset)], producer_name="framehive-tests")
    m.ir_version = 7
    onnx.checker.check_model(m)
    onnx.save(m, path)


def conv_head(rows):
    """MaxPool to the grid, then a 1x1 conv whose output channel k computes
    rows[k] = (wR, wG, wB, bias) from the cell's R, G, B; then Sigmoid."""
    W = np.array([[r[0], r[1], r[2]] for r in rows], np.float32).reshape(len(rows), 3, 1, 1)
    B = np.array([r[3] for r in rows], np.float32)
    nodes = [h.make_node("MaxPool", ["images"], ["pool"], kernel_shape=[CELL, CELL],
                         strides=[CELL, CELL]),
             h.make_node("Conv", ["pool", "W", "B"], ["conv"], kernel_shape=[1, 1]),
             h.make_node("Sigmoid", ["conv"], ["sig"])]
    return nodes, [nh.from_array(W, "W"), nh.from_array(B, "B")]


def masked(nodes, inits, keep, const):
    """out = sig * keep + const, keep/const [1, K, 4, 4] (same-shape constants import in 4.6)."""
    nodes = nodes + [h.make_node("Mul", ["sig", "keep"], ["kept"]),
                     h.make_node("Add", ["kept", "const"], ["grid"])]
    return nodes, inits + [nh.from_array(keep, "keep"), nh.from_array(const, "const")]


# Logits of the cell's (R, G, B):  white (1,1,1), blue (0,0,1), black (0,0,0).
SSD_CONF = (2, 2, 4, -3)        # white 5 -> 0.9933, blue 1 -> 0.7311, black -3 -> 0.0474
SSD_CLASS = (-50, -50, 50, 0)   # sigmoid: white 0, blue 1 -> class 1 + that
Y_CLS0 = (4, 4, 0, -3)          # white 5 -> 0.9933, blue -3, black -3 -> 0.0474
Y_CLS1 = (-4, -4, 2, -1)        # blue 1 -> 0.7311, white -7, black -1 -> 0.2689
Y_OBJ = (2, 2, 2, 3)            # yolov5 objectness: white 9, blue 5 -> 0.9933, black 3 -> 0.9526
ZERO = (0, 0, 0, 0)


def ssd_onnx(path):
    """[1, 1, N, 7]: (image_id 0, class, confidence, x1, y1, x2, y2 normalized), one row per cell."""
    nodes, inits = conv_head([ZERO, SSD_CLASS, SSD_CONF, ZERO, ZERO, ZERO, ZERO])
    keep = np.zeros((1, 7, GRID, GRID), np.float32)
    const = np.zeros((1, 7, GRID, GRID), np.float32)
    keep[0, 1] = keep[0, 2] = 1
    const[0, 1] = 1
    for c, r in cell_xy():
        const[0, 3:, r, c] = [c / GRID, r / GRID, (c + 1) / GRID, (r + 1) / GRID]
    nodes, inits = masked(nodes, inits, keep, const)
    nodes += [h.make_node("Reshape", ["grid", "s1"], ["flat"]),
              h.make_node("Transpose", ["flat"], ["rows"], perm=[0, 2, 1]),
              h.make_node("Reshape", ["rows", "s2"], ["output0"])]
    inits += [nh.from_array(np.array([1, 7, N], np.int64), "s1"),
              nh.from_array(np.array([1, 1, N, 7], np.int64), "s2")]
    save(path, nodes, inits, [1, 1, N, 7])


def yolo_grid(first_rows):
    """[1, K, 4, 4] with cx, cy, w, h (input pixels, a 24x24 box on the cell centre) first."""
    rows = [ZERO] * 4 + first_rows
    nodes, inits = conv_head(rows)
    k = len(rows)
    keep = np.zeros((1, k, GRID, GRID), np.float32)
    const = np.zeros((1, k, GRID, GRID), np.float32)
    keep[0, 4:] = 1
    for c, r in cell_xy():
        const[0, :4, r, c] = [(c + 0.5) * CELL, (r + 0.5) * CELL, 24, 24]
    return masked(nodes, inits, keep, const) + (k,)


def yolov8_onnx(path):
    """[1, 4 + C, N]: cx, cy, w, h, class scores (no objectness), as YOLOv8/YOLO11 export."""
    nodes, inits, k = yolo_grid([Y_CLS0, Y_CLS1])
    nodes += [h.make_node("Reshape", ["grid", "s"], ["output0"])]
    inits += [nh.from_array(np.array([1, k, N], np.int64), "s")]
    save(path, nodes, inits, [1, k, N])


def yolov5_onnx(path):
    """[1, N, 5 + C]: cx, cy, w, h, objectness, class scores, as YOLOv5 export."""
    nodes, inits, k = yolo_grid([Y_OBJ, Y_CLS0, Y_CLS1])
    nodes += [h.make_node("Reshape", ["grid", "s"], ["flat"]),
              h.make_node("Transpose", ["flat"], ["output0"], perm=[0, 2, 1])]
    inits += [nh.from_array(np.array([1, k, N], np.int64), "s")]
    save(path, nodes, inits, [1, N, k])


def yolov8_stock_head(path):
    """The stock YOLOv8 head's box decoding: (anchors -+ distances) * strides, the strides a
    [1, N] constant broadcast over [1, 4, N] (what Ultralytics exports). For the import table
    of docs/operations.md: OpenCV 4.6 loads it but fails on its first forward pass."""
    nodes, inits, k = yolo_grid([Y_CLS0, Y_CLS1])
    nodes += [h.make_node("Reshape", ["grid", "s"], ["r"]),
              h.make_node("Split", ["r"], ["lt", "rb", "cls"], axis=1, split=[2, 2, k - 4]),
              h.make_node("Sub", ["anchors", "lt"], ["x1y1"]),
              h.make_node("Add", ["anchors", "rb"], ["x2y2"]),
              h.make_node("Add", ["x1y1", "x2y2"], ["c_sum"]),
              h.make_node("Div", ["c_sum", "two"], ["cxy"]),
              h.make_node("Sub", ["x2y2", "x1y1"], ["wh"]),
              h.make_node("Concat", ["cxy", "wh"], ["box"], axis=1),
              h.make_node("Mul", ["box", "strides"], ["dbox"]),
              h.make_node("Concat", ["dbox", "cls"], ["output0"], axis=1)]
    inits += [nh.from_array(np.array([1, k, N], np.int64), "s"),
              nh.from_array(np.zeros((2, N), np.float32), "anchors"),
              nh.from_array(np.full((1, N), float(CELL), np.float32), "strides"),
              nh.from_array(np.array(2.0, np.float32), "two")]
    save(path, nodes, inits, [1, k, N])


def not_a_detector_onnx(path):
    """[1, 7, 4, 4]: a feature map, no detector's layout (for the error message tests)."""
    nodes, inits = conv_head([ZERO] * 7)
    nodes[-1] = h.make_node("Sigmoid", ["conv"], ["output0"])
    save(path, nodes, inits, [1, 7, GRID, GRID])


# --- Caffe: the MobileNet-SSD head (PriorBox + DetectionOutput) on a 1x1 conv "backbone". ---
# The .caffemodel is protobuf (caffe.NetParameter); without Caffe's tools it is written here
# field by field: NetParameter.layer = 100, LayerParameter.name = 1, .type = 2, .blobs = 7;
# BlobProto.data = 5 (packed float), .shape = 7; BlobShape.dim = 1 (packed int64).

CAFFE_PROTOTXT = """name: "tiny_ssd"
input: "data"
input_shape { dim: 1 dim: 3 dim: 64 dim: 64 }
layer { name: "pool" type: "Pooling" bottom: "data" top: "pool"
  pooling_param { pool: MAX kernel_size: 16 stride: 16 } }
layer { name: "loc" type: "Convolution" bottom: "pool" top: "loc"
  convolution_param { num_output: 4 kernel_size: 1 } }
layer { name: "loc_perm" type: "Permute" bottom: "loc" top: "loc_perm"
  permute_param { order: 0 order: 2 order: 3 order: 1 } }
layer { name: "loc_flat" type: "Flatten" bottom: "loc_perm" top: "loc_flat" flatten_param { axis: 1 } }
layer { name: "conf" type: "Convolution" bottom: "pool" top: "conf"
  convolution_param { num_output: 3 kernel_size: 1 } }
layer { name: "conf_perm" type: "Permute" bottom: "conf" top: "conf_perm"
  permute_param { order: 0 order: 2 order: 3 order: 1 } }
layer { name: "conf_flat" type: "Flatten" bottom: "conf_perm" top: "conf_flat" flatten_param { axis: 1 } }
layer { name: "prior" type: "PriorBox" bottom: "pool" bottom: "data" top: "prior"
  prior_box_param { min_size: 16 clip: false variance: 0.1 variance: 0.1 variance: 0.2
    variance: 0.2 offset: 0.5 step: 16 } }
layer { name: "conf_reshape" type: "Reshape" bottom: "conf_flat" top: "conf_reshape"
  reshape_param { shape { dim: 0 dim: -1 dim: 3 } } }
layer { name: "conf_softmax" type: "Softmax" bottom: "conf_reshape" top: "conf_softmax"
  softmax_param { axis: 2 } }
layer { name: "conf_sm_flat" type: "Flatten" bottom: "conf_softmax" top: "conf_sm_flat"
  flatten_param { axis: 1 } }
layer { name: "detection_out" type: "DetectionOutput"
  bottom: "loc_flat" bottom: "conf_sm_flat" bottom: "prior" top: "detection_out"
  detection_output_param { num_classes: 3 share_location: true background_label_id: 0
    nms_param { nms_threshold: 0.45 top_k: 100 } code_type: CENTER_SIZE keep_top_k: 100
    confidence_threshold: 0.01 } }
"""

# Class logits of the cell's (R, G, B): background, widget, gadget. White -> widget
# (softmax 0.99999), blue -> gadget (0.9755), black -> background.
CAFFE_CONF = [(-4, -4, -4, 3), (4, 4, 0, -2), (-4, -4, 4, -1)]


def varint(n):
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def field(num, payload):
    """A length-delimited field (wire type 2)."""
    return varint(num << 3 | 2) + varint(len(payload)) + payload


def blob(array):
    shape = field(1, b"".join(varint(d) for d in array.shape))
    data = field(5, array.astype("<f4").tobytes())
    return field(7, shape) + data


def caffe_layer(name, kind, arrays):
    body = field(1, name.encode()) + field(2, kind.encode())
    for a in arrays:
        body += field(7, blob(a))
    return field(100, body)


def ssd_caffe(prototxt, caffemodel):
    with open(prototxt, "w") as f:
        f.write(CAFFE_PROTOTXT)
    conf_w = np.array([r[:3] for r in CAFFE_CONF], np.float32).reshape(3, 3, 1, 1)
    conf_b = np.array([r[3] for r in CAFFE_CONF], np.float32)
    net = field(1, b"tiny_ssd")
    net += caffe_layer("loc", "Convolution",
                       [np.zeros((4, 3, 1, 1), np.float32), np.zeros(4, np.float32)])
    net += caffe_layer("conf", "Convolution", [conf_w, conf_b])
    with open(caffemodel, "wb") as f:
        f.write(net)


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    ssd_onnx(os.path.join(out, "ssd.onnx"))
    yolov8_onnx(os.path.join(out, "yolov8.onnx"))
    yolov5_onnx(os.path.join(out, "yolov5.onnx"))
    yolov8_stock_head(os.path.join(out, "yolov8_stock_head.onnx"))
    not_a_detector_onnx(os.path.join(out, "feature_map.onnx"))
    ssd_caffe(os.path.join(out, "ssd.prototxt"), os.path.join(out, "ssd.caffemodel"))
    # The same layouts at other opsets (docs/operations.md's table): <layout>_op<N>.onnx.
    for opset in (11, 13, 17):
        OPSET[0] = opset
        ssd_onnx(os.path.join(out, "ssd_op%d.onnx" % opset))
        yolov8_onnx(os.path.join(out, "yolov8_op%d.onnx" % opset))
        yolov5_onnx(os.path.join(out, "yolov5_op%d.onnx" % opset))
    OPSET[0] = 12
    with open(os.path.join(out, "ssd.names"), "w") as f:
        f.write("background\nwidget\ngadget\n")
    with open(os.path.join(out, "yolo.names"), "w") as f:
        f.write("widget\ngadget\n")


if __name__ == "__main__":
    main()
