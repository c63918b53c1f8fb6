"""Work past one machine: Ray Data as the batch engine (ray_engine). Imported only by `--ray` batches."""
