"""Progress bars (utils.progress): a plain text bar on stdout under papermill, none when off."""
import sys

import pytest

from utils.progress import progress


@pytest.mark.parametrize("style", ["text", True])
def test_the_text_bar_goes_to_stdout_and_ends_at_100_percent(style, capsys):
    assert list(progress(range(7), desc="epochs", style=style, mininterval=0)) == list(range(7))
    out, err = capsys.readouterr()
    assert err == ""
    assert "epochs" in out and "100%" in out.replace("\r", "\n").strip().splitlines()[-1]


@pytest.mark.parametrize("style", [None, False])
def test_no_bar_draws_nothing(style, capsys):
    assert list(progress(range(3), style=style)) == [0, 1, 2]
    assert capsys.readouterr() == ("", "")


def test_widgets_without_ipywidgets_fall_back_to_text(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "ipywidgets", None)  # import ipywidgets raises ImportError
    list(progress(range(2), desc="cache", style="widgets", mininterval=0))
    assert "cache" in capsys.readouterr().out


def test_an_unknown_style_is_refused_naming_it():
    with pytest.raises(ValueError, match="'bars'"):
        progress(range(2), style="bars")
