"""Training, exporting and packaging models (models/), and the golden files of tests/data/golden."""
