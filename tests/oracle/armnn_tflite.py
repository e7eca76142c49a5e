#!/usr/bin/python3
"""Runs a TensorFlow Lite model on Arm NN's CpuRef backend: an independent
executor to check vigil's engine against (Debian's python3-pyarmnn and
libarmnn-cpuref-backend22; run with /usr/bin/python3).

usage: armnn_tflite.py MODEL INPUT.bin OUTDIR
       armnn_tflite.py --fingerprint
Feeds INPUT.bin's raw bytes to input 0 and writes each output i as OUTDIR/i.bin
plus OUTDIR/outputs.json describing names, shapes and dtypes.
Exits 3 when Arm NN cannot parse or run the model (a skip, not a failure),
4 when pyarmnn is not installed.
--fingerprint prints one line that changes whenever the installed Arm NN may
compute differently (tests/integration/oracle_cache.py keys its cache on it).
"""
import hashlib
import json
import os
import sys
import warnings

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    import contextlib
    import io
    try:
        import numpy as np
        with contextlib.redirect_stdout(io.StringIO()):
            import pyarmnn as ann
    except ImportError as e:
        print(f"pyarmnn is not installed: {e}", file=sys.stderr)
        sys.exit(4)

DTYPES = {
    ann.DataType_Float32: np.float32,
    ann.DataType_QAsymmU8: np.uint8,
    ann.DataType_QAsymmS8: np.int8,
    ann.DataType_Signed32: np.int32,
}


def fingerprint():
    """Versions, the bytes of pyarmnn and of the Arm NN libraries this process maps once a runtime has
    loaded its backends, and the identity (size, mtime) of every other shared library it maps."""
    runtime = ann.IRuntime(ann.CreationOptions())
    pkg = os.path.dirname(os.path.abspath(ann.__file__))
    files = [os.path.join(d, f) for d, _, fs in os.walk(pkg) for f in fs if not f.endswith(".pyc")]
    with open("/proc/self/maps") as f:
        mapped = {line.split(None, 5)[5].strip() for line in f if len(line.split(None, 5)) == 6}
    mapped = {m for m in mapped if m.startswith("/") and ".so" in os.path.basename(m) and os.path.isfile(m)}
    files += [m for m in mapped if "armnn" in m.lower()]
    h = hashlib.sha256()
    for path in sorted(set(files)):
        with open(path, "rb") as f:
            h.update(path.encode() + b"\0" + hashlib.sha256(f.read()).digest())
    for path in sorted(m for m in mapped if "armnn" not in m.lower()):
        st = os.stat(path)
        h.update(f"{path}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
    del runtime
    print(json.dumps({"pyarmnn": ann.__version__, "armnn": ann.ARMNN_VERSION, "numpy": np.__version__,
                      "python": sys.version, "files": h.hexdigest()}, sort_keys=True))


def main():
    if sys.argv[1:] == ["--fingerprint"]:
        fingerprint()
        return
    model, input_path, outdir = sys.argv[1:4]
    try:
        parser = ann.ITfLiteParser()
        network = parser.CreateNetworkFromBinaryFile(model)
        graph = 0
        in_names = parser.GetSubgraphInputTensorNames(graph)
        out_names = parser.GetSubgraphOutputTensorNames(graph)
        in_info = parser.GetNetworkInputBindingInfo(graph, in_names[0])
        out_infos = [parser.GetNetworkOutputBindingInfo(graph, n) for n in out_names]
        runtime = ann.IRuntime(ann.CreationOptions())
        opt, _ = ann.Optimize(network, [ann.BackendId("CpuRef")], runtime.GetDeviceSpec(), ann.OptimizerOptions())
        net_id, _ = runtime.LoadNetwork(opt)
    except Exception as e:  # Arm NN raises its own exception types
        print(f"armnn cannot run {model}: {e}", file=sys.stderr)
        sys.exit(3)
    dtype = DTYPES[in_info[1].GetDataType()]
    data = np.fromfile(input_path, dtype=dtype)
    inputs = ann.make_input_tensors([in_info], [data])
    outputs = ann.make_output_tensors(out_infos)
    runtime.EnqueueWorkload(net_id, inputs, outputs)
    results = ann.workload_tensors_to_ndarray(outputs)
    os.makedirs(outdir, exist_ok=True)
    desc = []
    for i, (name, arr) in enumerate(zip(out_names, results)):
        arr = np.ascontiguousarray(arr)
        arr.tofile(os.path.join(outdir, f"{i}.bin"))
        desc.append({"name": name, "shape": list(arr.shape), "dtype": str(arr.dtype)})
    with open(os.path.join(outdir, "outputs.json"), "w") as f:
        json.dump(desc, f)


if __name__ == "__main__":
    main()
