"""Small Keras 2 HDF5 models written with h5py, for tests of vigil's Keras
loader: what Keras's model.save() writes (root attributes model_config,
keras_version, backend; model_weights/<layer>/ with its weight_names and
datasets "<layer>/<name>:0"), with random weights from a fixed seed.

Layers are given as (class_name, config, inputs, weights): config without
"name", inputs a list of layer names (functional models), weights a list of
(name, shape) whose values are drawn here (variances and other weights named
in POSITIVE come out positive).
"""
import json

import h5py
import numpy as np

POSITIVE = ("moving_variance", "variance")


def _weights(rng, specs):
    out = []
    for name, shape in specs:
        v = rng.uniform(-0.5, 0.5, size=shape).astype(np.float32)
        if name in POSITIVE:
            v = np.abs(v) + 0.5
        if name == "gamma":
            v = v + 1.0
        out.append((name, v))
    return out


def functional(layers, inputs, outputs, name="model", class_name="Functional"):
    """A functional config: layers as (name, class, config, input names)."""
    items = []
    for lname, cls, cfg, ins in layers:
        cfg = dict(cfg, name=lname)
        items.append({"class_name": cls, "name": lname, "config": cfg,
                      "inbound_nodes": [[[i, 0, 0, {}] for i in ins]] if ins else []})
    return {"class_name": class_name, "config": {
        "name": name, "layers": items,
        "input_layers": [[i, 0, 0] for i in inputs], "output_layers": [[o, 0, 0] for o in outputs]}}


def sequential(layers, name="sequential", as_list=False):
    """A Sequential config: layers as (name, class, config); as_list gives the Keras 2.0-2.2 spelling."""
    items = [{"class_name": cls, "config": dict(cfg, name=lname)} for lname, cls, cfg in layers]
    return {"class_name": "Sequential", "config": items if as_list else {"name": name, "layers": items}}


def write(path, config, weights, seed=1, keras_version="2.9.0", dtype=np.float32, skip=(), reshape=None,
          model_config=None):
    """Writes the HDF5 file. weights: {layer: [(name, shape)]}, in the layers' order.

    skip: (layer, name) pairs left out of the file; reshape: {(layer, name): shape} stored with another shape
    (both for tests of bad files); model_config: the raw attribute value instead of json.dumps(config).
    """
    rng = np.random.default_rng(seed)
    with h5py.File(path, "w") as f:
        f.attrs["model_config"] = model_config if model_config is not None else json.dumps(config)
        f.attrs["keras_version"] = keras_version
        f.attrs["backend"] = "tensorflow"
        mw = f.create_group("model_weights")
        layer_names = []
        cfg = config["config"]
        items = cfg if isinstance(cfg, list) else cfg["layers"]
        for item in items:
            lname = item.get("name") or item["config"]["name"]
            if lname in layer_names:
                continue  # a duplicate name (a test of bad configs): the first layer's weights stand
            layer_names.append(lname)
            g = mw.create_group(lname)
            names = []
            for wname, value in _weights(rng, weights.get(lname, [])):
                full = f"{lname}/{wname}:0"
                names.append(full)
                if (lname, wname) in skip:
                    continue
                if reshape and (lname, wname) in reshape:
                    value = rng.uniform(-0.5, 0.5, size=reshape[(lname, wname)]).astype(np.float32)
                g.create_dataset(full, data=value.astype(dtype))
            g.attrs["weight_names"] = np.array([n.encode() for n in names], dtype="S") if names else np.array(
                [], dtype="S1")
        mw.attrs["layer_names"] = np.array([n.encode() for n in layer_names], dtype="S")
