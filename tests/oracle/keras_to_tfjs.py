#!/usr/bin/python3
"""Writes a Keras 2 HDF5 model (model.save) as a TensorFlow.js layers model.

usage: /usr/bin/python3 keras_to_tfjs.py MODEL.h5 OUTDIR

OUTDIR/model.json: {"format": "layers-model", "modelTopology": {model_config,
keras_version, backend}, "weightsManifest": [{"paths": ["weights.bin"],
"weights": [{"name", "shape", "dtype"}]}]} and OUTDIR/weights.bin (every
weight as little-endian float32, in manifest order). Nothing is computed
here: the file's config and weight values are copied as they are, so that
the arithmetic of the comparison is TensorFlow.js's own
(tests/oracle/tfjs_layers_run.mjs). Needs Debian's python3-h5py (run it with
/usr/bin/python3).

TensorFlow.js finds a weight by its layer's name and the weight's own name
("conv2d_1/kernel"); the HDF5 file names it by a variable scope that may
differ from the layer's ("conv2d_1/conv2d_1_1/kernel:0" in Keras 2.0), so the
manifest takes the layer group's name and the last part of the dataset's.
"""
import json
import os
import sys

import h5py
import numpy as np


def text(v):
    return v.decode("utf-8") if isinstance(v, bytes) else str(v)


def main(argv):
    if len(argv) != 3:
        sys.stderr.write(__doc__.split("\n\n")[1] + "\n")
        return 2
    src, out = argv[1], argv[2]
    with h5py.File(src, "r") as f:
        config = json.loads(text(f.attrs["model_config"]))
        topology = {"model_config": config, "keras_version": text(f.attrs.get("keras_version", "")),
                    "backend": text(f.attrs.get("backend", "tensorflow"))}
        mw = f["model_weights"]
        specs, blobs = [], []
        for layer in (text(n) for n in mw.attrs["layer_names"]):
            group = mw[layer]
            for wname in (text(n) for n in group.attrs["weight_names"]):
                data = np.asarray(group[wname], dtype="<f4")
                base = wname.split("/")[-1].split(":")[0]
                specs.append({"name": f"{layer}/{base}", "shape": list(data.shape), "dtype": "float32"})
                blobs.append(data.tobytes())
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, "weights.bin"), "wb") as w:
        for b in blobs:
            w.write(b)
    model = {"format": "layers-model", "generatedBy": "vigil tests/oracle/keras_to_tfjs.py",
             "modelTopology": topology,
             "weightsManifest": [{"paths": ["weights.bin"], "weights": specs}]}
    with open(os.path.join(out, "model.json"), "w") as m:
        json.dump(model, m)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
