"""The decoder fuzzer of make fuzz (fuzz.py) and its seeds and mutations (fuzz_cases.py)."""
