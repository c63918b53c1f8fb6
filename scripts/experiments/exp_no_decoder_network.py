"""What muzip-v2.2's decoder network adds once band gains and envelopes are coded: the same model with the
network swapped, in process, for its bare un-weighting (the encoder's band-gain analysis and the decoder both),
against the network, at equal requested bitrate on a validation set's 4 excerpts (30 s from 30 s).

    .venv/bin/python -m scripts.experiments.exp_no_decoder_network wesnoth,band 6,12,16,32,48,96 net,bypass,inverse

bypass: expand(z * exp(-decoder unweight)), the decoder's learned un-weighting without its blocks; inverse: the
same with the encoder's weighting inverted exactly. The band-gain tables stay v2.2's (counted with the network):
muzip-v2.3 (scripts/models/make_transform_model.py) recounts them and adds noise_fill. Made the table of
docs/EXPERIMENTS.md "muzip 2.0, lever 2" (log docs/logs/no_decoder_network.log).
"""
import sys

import h5py
import numpy as np

from muzip.codec import load_model
from muzip.codec.onnx_model import OnnxCodecModel
from muzip.codec.transform_model import expand
from scripts.bench import bench
from scripts.data.corpus import validation_set
from scripts.experiments.exp_models import measured_row


def main():
    sets, rates, modes = sys.argv[1].split(","), [float(v) for v in sys.argv[2].split(",")], sys.argv[3].split(",")
    model = load_model("muzip-v2.2")
    folder = "models/muzip-v2.2/"
    log_gain = {"bypass": h5py.File(folder + "decoder.weights.h5")["layers/channel_scale/vars/0"][:],
                "inverse": h5py.File(folder + "encoder.weights.h5")["layers/channel_scale/vars/0"][:]}
    network = OnnxCodecModel._run_decoder
    for st in sets:
        xs = [bench.read_excerpt(p, 30.0, 30.0)[0] for p in validation_set(st)]
        for kbps in rates:
            for mode in modes:
                if mode == "net":
                    OnnxCodecModel._run_decoder = network
                else:
                    unweight = np.exp(-log_gain[mode].astype(np.float32))
                    OnnxCodecModel._run_decoder = lambda self, z, noise, u=unweight: expand(z * u, 0.75).astype(np.float32)
                print(f"| {st} | {mode} | {measured_row(model, xs, kbps)}", flush=True)


if __name__ == "__main__":
    main()
