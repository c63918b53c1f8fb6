"""The corpus: fetched Debian music packages (fetch_corpus.sh), its split (corpus.py), music21 renders."""
