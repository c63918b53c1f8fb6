# muzip: `make demo` (set-up + example) and `make test` are all a fresh machine needs.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-stamp

.PHONY: install demo test bench fuzz corpus train train-restore train-embed clean

INSTALL_LOG := build/install.log

install: $(STAMP)

# Quiet: pip's and the build backend's chatter (setuptools banners, "Location ... is ignored" warnings)
# goes to $(INSTALL_LOG), shown only if the install fails. editable_mode=compat: a plain path entry, not an
# import hook (the hook cost ~12 ms of every muzip start-up).
$(STAMP): pyproject.toml setup.py muzip/codec/entropy/ans_kernels.c
	@mkdir -p $(dir $(INSTALL_LOG))
	@echo "installing muzip into $(VENV) (log: $(INSTALL_LOG))"
	@{ test -x $(PY) || $(PYTHON) -m venv $(VENV); } > $(INSTALL_LOG) 2>&1 \
	  && $(PY) -m pip install -q --disable-pip-version-check --upgrade pip >> $(INSTALL_LOG) 2>&1 \
	  && $(PY) -m pip install -q --disable-pip-version-check -e ".[train,test,bench,eval,cluster]" \
	       --config-settings editable_mode=compat >> $(INSTALL_LOG) 2>&1 \
	  || { cat $(INSTALL_LOG); echo "make install: failed (the log above is in $(INSTALL_LOG))" >&2; exit 1; }
	@touch $(STAMP)

demo: install
	@$(PY) scripts/demo.py

test: install
	@# compiled once, as `pip install` compiles a package: with PYTHONDONTWRITEBYTECODE set, each muzip the tests
	@# start would compile every module again
	$(PY) -m compileall -q muzip scripts
	@# One test process per core (at most 4; each holds ~1.5 GB): most tests wait on a muzip they started, so two
	@# cores run the suite in 5.5 minutes, not 7.5. A file's tests stay in one process (its fixtures built once).
	$(PY) -m pytest -q -n auto --maxprocesses 4 --dist loadfile

bench: install corpus
	$(PY) -m scripts.bench.bench
	$(PY) -m scripts.bench.rd_bench --reference muzip-v2.6 --reference muzip-v2.1  # docs/RD.md, docs/rd.png: RD_MODEL (muzip.defaults), its predecessor and v2.1 in the same run
	$(PY) -m scripts.bench.rd_bench --set band --reference muzip-v2.6 --reference muzip-v2.1  # docs/RD-band.md, docs/rd-band.png: band recordings
	$(PY) -m scripts.bench.silence_bench  # docs/SILENCE.md: digital silence before music, every codec at its rates
	$(PY) -m scripts.bench.restore_bench
	$(PY) -m scripts.models.train_embed prepare  # band and pitch sequences for the per-fold embedder networks (incremental)
	$(PY) -m scripts.bench.library_bench  # docs/LIBRARY-SEEN.md: the corpora the embedders learned from, per-track folds
	$(PY) -m scripts.bench.library_loco  # docs/LIBRARY.md: leave-one-corpus-out, against the classical features and Musly
	$(PY) -m scripts.bench.library_speed  # whole-command similar / cluster / map on a 10,000-track catalog
	$(PY) -m scripts.bench.dupes_bench  # README, GUIDE: dupes, similar's copies and cluster on 192 made files
	$(PY) -m scripts.bench.ray_bench --json docs/logs/ray_bench.json  # docs/SCALE.md: --ray against -j, 48 corpus tracks
	$(PY) -m scripts.bench.ray_two_nodes  # docs/SCALE.md: compress --ray HOST:PORT on two Ray nodes (two raylets here)
	$(PY) -m scripts.bench.ann_bench --json docs/ann_results.json  # docs/SCALE.md: 10^6 vectors, usearch f16, memory-mapped
	$(PY) -m scripts.bench.catalog_scale --json docs/logs/catalog_scale.json  # docs/SCALE.md: a 10^6-track catalog, a nightly 1 % index, similar

fuzz: install  # 3,400 mutated and crafted .mz files per shipped codec model, 1,000 catalogs and classifiers (~20 min)
	$(PY) -m scripts.fuzz.fuzz --cases 3400 --library-cases 1000 --seed 1

corpus:  # the Debian music packages (apt-get download; already-fetched ones are skipped)
	bash scripts/data/fetch_corpus.sh data

train: install corpus
	$(PY) -m scripts.models.train prepare
	$(PY) -m scripts.models.train train --run runs/v1 --steps 4000

train-restore: install corpus  # resumable: run again to continue from runs/restore-v1/ckpt
	$(PY) -m scripts.models.train_restore --run runs/restore-v1 --steps 6000 --recon-steps 3000
	$(PY) -m scripts.models.export_restore runs/restore-v1

train-embed: install corpus  # resumable: run again to continue from runs/embed-v2
	$(PY) -m scripts.models.train_embed prepare
	$(PY) -m scripts.models.train_embed train --run runs/embed-v2 --steps 1200 --label-weight 1.0
	$(PY) -m scripts.models.export_embed runs/embed-v2 --name embed-v2

train-user-demo: install  # `muzip train` as a user runs it, on music the codec never saw (needs scripts/data/render_styles.py)
	MUZIP_USER_MODELS=runs/train-demo/models MUZIP_TRAIN_RUNS=runs/train-demo/runs \
	  $(PY) -m muzip train data/styles --name styles-ft --minutes 10 -j 2 --json

clean:
	rm -rf build .pytest_cache
