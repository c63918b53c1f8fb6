"""Work past one machine: Ray Data as the batch engine (ray_engine), Parquet shards of index records (shards),
object stores through pyarrow.fs (storage). Ray and pyarrow are imported only by `--ray` batches."""
