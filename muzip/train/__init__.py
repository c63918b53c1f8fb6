"""Training muzip's codec on the user's own music (`muzip train`): objective, data, tables, install;
``pipeline`` drives a run (the CLI, muzip.cli.train_cmd, only parses options and prints).

Needs Keras and a backend (pip install 'muzip[train]'); nothing here is imported by compress or
decompress, so the lean runtime never pays for it.
"""
