"""The developer scripts refuse, before any work, the outputs they must not write: a figure
name that is not a PNG, or an existing file there that is not a picture."""

import pytest

from tests.test_bench import ROOT, import_script

T2I = ROOT / "exports" / "t2i-fashion-mnist"


@pytest.mark.parametrize("name", ["notes2.md", "sheet.png", "folder.png"])
def test_eval_t2i_refuses_a_figure_that_would_replace_something_else(tmp_path, capsys, name):
    eval_t2i = import_script("eval_t2i")
    figure = tmp_path / name
    if name == "folder.png":
        figure.mkdir()
    else:
        figure.write_text("# notes\n")
    with pytest.raises(SystemExit) as raised:
        eval_t2i.main([str(T2I), "--no-eval", "--figure", str(figure)])
    assert raised.value.code == 2 and f"--figure {figure}" in capsys.readouterr().err
    assert figure.is_dir() if name == "folder.png" else figure.read_text() == "# notes\n"
