"""cosim's list of SUMO's input-file options agrees with the installed SUMO's own option list."""

from __future__ import annotations

import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

from cosim.scenario.sumo_bin import sumo_binary, sumo_env
from cosim.scenario.sumo_options import BY_ALIAS, INPUT_OPTIONS, NOT_INPUTS
from cosim.scenario.sumocfg import read_sumocfg


def _file_options(tmp_path: Path) -> dict[str, set[str]]:
    """Every option of type FILE in ``sumo --save-template``: long name -> its synonyms."""
    template = tmp_path / "template.xml"
    subprocess.run(
        [str(sumo_binary("sumo")), "--save-template", str(template)], env=sumo_env(), check=True, capture_output=True
    )
    return {
        el.tag: set(el.get("synonymes", "").split())
        for el in ET.parse(template).getroot().iter()
        if el.get("type") == "FILE"
    }


def test_every_file_option_of_sumo_is_sorted_into_inputs_or_not(tmp_path: Path) -> None:
    sumo = _file_options(tmp_path)
    inputs = {o.name for o in INPUT_OPTIONS}
    assert not inputs & NOT_INPUTS
    assert set(sumo) == inputs | NOT_INPUTS, "a SUMO file option is new or gone: sort it in sumo_options.py"
    for o in INPUT_OPTIONS:
        assert set(o.aliases) == {o.name, *sumo[o.name]}, o.name  # every name SUMO accepts, no other
        assert o.aliases[0] == o.name


def test_any_name_of_an_input_option_is_read(tmp_path: Path) -> None:
    for name in ("net.net.xml", "gui.xml", "w.xml", "sel.txt"):
        (tmp_path / name).write_text("<x/>")
    cfg = tmp_path / "c.sumocfg"
    cfg.write_text(
        '<configuration><n v="net.net.xml"/><g value="gui.xml"/><weights value="w.xml"/>'
        "<selection-file>sel.txt</selection-file><tripinfo-output value='out.xml'/></configuration>"
    )
    sc = read_sumocfg(cfg)
    assert [(i.option, i.item) for i in sc.inputs] == [
        ("net-file", "net.net.xml"),
        ("weight-files", "w.xml"),
        ("gui-settings-file", "gui.xml"),
        ("selection-file", "sel.txt"),
    ]  # in the order of INPUT_OPTIONS; outputs are not inputs
    assert all(BY_ALIAS[i.option].name == i.option for i in sc.inputs)
