"""muzip restore: a GAN-trained restorer for heavily compressed music (after Lattner & Nistal, 2022).

* ``config``: the network's configuration; ``model``: the Keras network (training only);
* ``pairs``: LAME MP3 training pairs; ``detect``: what an input is (codec, kbps, bandwidth);
* ``runtime``: chunked onnxruntime inference; ``pipeline``: one file read, restored (or copied) and
  written, as `muzip restore` does it; the CLI (options, messages) is muzip.cli.restore_cmd.
"""
