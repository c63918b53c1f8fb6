"""Seeds and mutations for scripts/fuzz/fuzz.py: small valid .mz files, and ways to damage or forge them.

Every mutation takes (rng, seed, seeds) and returns the bytes of one file; KINDS names them all. This module
is their registry and the one place to import from; the code lives in three modules below it:
scripts/fuzz/fuzz_seeds.py (the building blocks: header_bytes, frame_record, Parsed.assemble,
set_header_fields..., also used by tests/codec/test_fuzz.py; and the seeds, per codec model),
scripts/fuzz/fuzz_container_cases.py (damage to the container: its headers, records, index and trailer) and
scripts/fuzz/fuzz_payload_cases.py (`payload`, `gains`, `envelope`, `fill`: damage to what each model's
coders read).
"""

from __future__ import annotations

from scripts.fuzz.fuzz_container_cases import (  # noqa: F401 - re-exported: import mutations from here
    _EXTREME, _pick, _spam, _spam_size, m_bitflip, m_concat, m_delete, m_frame_fields, m_frame_jump, m_garbage,
    m_header_body, m_header_field, m_index_lie, m_insert, m_none, m_splice, m_sync_spam, m_trailer_lie,
    m_truncate,
)
from scripts.fuzz.fuzz_payload_cases import (  # noqa: F401
    _frame_with_payload, _with_payload, m_envelope, m_fill, m_gains, m_payload,
)
from scripts.fuzz.fuzz_seeds import (  # noqa: F401 - re-exported for tests and scripts/fuzz/fuzz.py
    GOLDEN, GOLDEN_DIR, ROOT, Parsed, Seed, _digest, crc, frame_record, header_bytes, index_record, make_seeds,
    set_header_fields, trailer, with_cover,
)

KINDS = {"none": m_none, "bitflip": m_bitflip, "truncate": m_truncate, "insert": m_insert, "delete": m_delete,
         "header_field": m_header_field, "header_body": m_header_body, "index_lie": m_index_lie,
         "trailer_lie": m_trailer_lie, "sync_spam": m_sync_spam, "frame_jump": m_frame_jump,
         "frame_fields": m_frame_fields, "splice": m_splice, "concat": m_concat, "garbage": m_garbage,
         "payload": m_payload, "gains": m_gains, "envelope": m_envelope, "fill": m_fill}
