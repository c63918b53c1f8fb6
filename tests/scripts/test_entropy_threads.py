from scripts.bench import entropy_threads


def test_entropy_threads_reports_a_speed_up(capsys):
    ratio = entropy_threads.main(symbols=2000, alphabet=8)
    assert 0 < ratio < 10
    assert "in two threads" in capsys.readouterr().out
