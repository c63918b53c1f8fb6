from scripts.models.config_changes import changed_config


def test_changes_set_dotted_keys_and_leave_the_input_alone():
    cfg = {"hop": 882, "band_gains": {"radius": 4, "fill_noise": "frame"}}
    out = changed_config(cfg, ['band_gains.fold={"min_hz": 2000, "mix": 0.5}', "hop=441"])
    assert out == {"hop": 441, "band_gains": {"radius": 4, "fill_noise": "frame", "fold": {"min_hz": 2000, "mix": 0.5}}}
    assert cfg == {"hop": 882, "band_gains": {"radius": 4, "fill_noise": "frame"}}
