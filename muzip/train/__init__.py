"""Training muzip's codec on the user's own music (`muzip train`): objective, data, tables, install.

Needs Keras and a backend (pip install 'muzip[train]'); nothing here is imported by compress or
decompress, so the lean runtime never pays for it.
"""
