"""YAML aliases are bounded (issue 15, point 2): nested aliases ("billion laughs"), an alias
inside what it names, and nesting made deep through aliases are refused with exit 2 from the
composed node graph, before anything is built; a few shared values and merge keys still work.
The corpus files themselves are checked by tests/test_validation.py (tests/bad_files/)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import yaml

from optimiser.batch import load_batch
from optimiser.errors import InputError
from optimiser.inputs import formats
from optimiser.inputs.formats import MAX_ALIAS_EXPANSION, load_mapping
from optimiser.inputs.scenario import read_scenario

BAD = Path(__file__).resolve().parent / "bad_files"


def _laughs(levels: int, width: int = 10, where: str = "firms") -> str:
    """A site file whose ``where`` holds ``width ** (levels + 1)`` strings once expanded."""
    lines = ["format: placemaking-site/1", "id: laughs", "crs: EPSG:27700",
             "l0: &l0 [" + ", ".join(['"lol"'] * width) + "]"]
    lines += [f"l{i}: &l{i} [" + ", ".join([f"*l{i - 1}"] * width) + "]" for i in range(1, levels + 1)]
    return "\n".join([*lines, f"{where}: *l{levels}"]) + "\n"


def _problems(path: Path) -> list[str]:
    data, problems = load_mapping(path)
    return [f"{p.field}: {p.reason} ({p.hint})" for p in problems] if data is None else []


def test_the_expansion_limit_is_exact(tmp_path, monkeypatch):
    """One alias of a list of n strings adds n + 1 nodes: at the limit it is read, one more is refused."""
    assert MAX_ALIAS_EXPANSION == 100_000  # documented in sites/README.md
    limit = 1000  # the same rule, on a file PyYAML composes in milliseconds
    monkeypatch.setattr(formats, "MAX_ALIAS_EXPANSION", limit)

    def one_alias(n: int) -> Path:
        p = tmp_path / f"a{n}.yaml"
        p.write_text("id: x\nbig: &big [" + ", ".join(["1"] * n) + "]\ncopy: *big\n")
        return p

    assert _problems(one_alias(limit - 1)) == []
    refused = _problems(one_alias(limit))
    assert len(refused) == 1 and f"more than the {limit:,} extra nodes allowed" in refused[0]


def test_billion_laughs_is_refused_fast_without_building_anything(tmp_path):
    p = tmp_path / "site.yaml"
    p.write_text(_laughs(levels=12))  # 10^13 strings once expanded
    t0 = time.process_time()
    refused = _problems(p)
    assert time.process_time() - t0 < 1.0
    assert len(refused) == 1
    # hand count: the root mapping, its 17 keys and 3 scalar values, then l0 (a list of 10) and
    # l1..l12 (lists of 10 aliases), and firms (l12 again); list i expands to 1 + 10 * list i-1
    sizes = [11]
    for _ in range(12):
        sizes.append(1 + 10 * sizes[-1])
    written, expanded = 1 + 17 + 3 + 11 + 12, 1 + 17 + 3 + sum(sizes) + sizes[-1]
    assert f"YAML aliases would expand {written} nodes to {expanded:,}" in refused[0]
    assert "not nested many times over" in refused[0]  # the fix


def test_a_batch_whose_base_scenario_laughs_exits_2_instead_of_hanging(tmp_path):
    """On main before the fix this batch hung past 120 s (the item key's canonical JSON
    expanded every alias); now loading it is refused at once."""
    (tmp_path / "ok_site.yaml").write_text((BAD / "ok_site.yaml").read_text())
    scen = (BAD / "ok_scenario.yaml").read_text() + _laughs(8).split("crs: EPSG:27700\n", 1)[1].replace(
        "firms: *l8", "notes: *l8")
    (tmp_path / "scen.yaml").write_text(scen)
    (tmp_path / "batch.yaml").write_text("format: placemaking-batch/1\nbase: scen.yaml\nsweep: {budget_gbp: [1000000]}\n")
    t0 = time.process_time()
    with pytest.raises(InputError) as info:
        load_batch(tmp_path / "batch.yaml")
    assert time.process_time() - t0 < 1.0
    text = "\n".join(f"{p.file}: {p.field}: {p.reason}" for p in info.value.problems)
    assert "scen.yaml" in text and "YAML aliases would expand" in text


def test_shared_values_and_merge_keys_still_work(tmp_path):
    (tmp_path / "ok_site.yaml").write_text((BAD / "ok_site.yaml").read_text())
    p = tmp_path / "scen.yaml"
    p.write_text("""\
format: placemaking-scenario/1
id: aliases
site: ok_site.yaml
budget_gbp: 1000000
crossings:
  types:
    signalised: &base {cost_gbp: 450000, penalty_m: 60}
    footbridge:
      <<: *base
      penalty_m: 30
""")
    sc = read_scenario(p)
    assert {t.type: (t.cost, t.penalty_m) for t in sc.crossings.types} == {
        "signalised": (450000, 60), "footbridge": (450000, 30)}


@pytest.mark.parametrize(("name", "reason"), [
    ("yaml_billion_laughs.yaml", "YAML aliases would expand"),
    ("yaml_recursive_alias.yaml", "refers to a mapping or list that contains it"),
    ("yaml_alias_deep.yaml", "nested 81 levels deep through YAML aliases"),
])
def test_corpus_files_are_refused_by_the_reader(name, reason):
    refused = _problems(BAD / name)
    assert len(refused) == 1 and reason in refused[0]
    yaml.safe_load((BAD / name).read_text())  # the files are valid YAML: the bound is ours, not the parser's


@pytest.mark.parametrize("text", ["# a site, to be written\n\n   # later\n", "\n  \t\n# only this\n"])
def test_a_file_of_comments_only_says_so(tmp_path, text):
    p = tmp_path / "site.yaml"
    p.write_text(text)
    data, problems = load_mapping(p)
    assert data is None
    assert [q.reason for q in problems] == ["the file holds only comments and blank lines: no data"]


def test_a_tab_in_the_indentation_is_named_as_a_tab(tmp_path):
    p = tmp_path / "site.yaml"
    p.write_text("format: placemaking-site/1\nid: t\nfirms:\n\t- id: a\n")
    data, problems = load_mapping(p)
    assert data is None
    assert [(q.reason, q.hint) for q in problems] == [
        ("malformed YAML at line 4 column 1: a tab where YAML allows only spaces",
         "indent with spaces, never tabs (an editor's 'convert indentation to spaces')")]


def test_a_second_yaml_document_is_named_as_one(tmp_path):
    """Two sites pasted into one file (a '---' between them): the problem says so and what to do,
    not "but found another document (fix the indentation or quoting there ...)"."""
    p = tmp_path / "site.yaml"
    p.write_text("format: placemaking-site/1\nid: t\n---\nformat: placemaking-site/1\nid: u\n")
    data, problems = load_mapping(p)
    assert data is None
    assert [(q.reason, q.hint) for q in problems] == [
        ("a second YAML document begins at line 3 column 1 (after a '---' line)",
         "a file holds one site or scenario: remove the '---' line and what follows it, or put it in a file of its own")]


def test_a_colon_without_a_space_and_an_unclosed_quote_name_their_own_line(tmp_path):
    """'id:four' was reported at the next line ("line 3 column 1: could not find expected ':'",
    "fix the indentation or quoting there"), and an unclosed quote at the end of the file: both
    name the line to fix and the fix."""
    p = tmp_path / "site.yaml"
    p.write_text("format: placemaking-site/1\nid:four\ncrs: EPSG:27700\n")
    assert [(q.reason, q.hint) for q in load_mapping(p)[1]] == [
        ("malformed YAML at line 2: 'id:four' is no key: value (a key needs ': ', a colon and a space)",
         "put a space after the colon: 'id: four'")]
    p.write_text('format: placemaking-site/1\nid: four\nname: "Unit 3\ncrs: EPSG:27700\nfirms: []\n')
    assert [(q.reason, q.hint) for q in load_mapping(p)[1]] == [
        ("malformed YAML at line 3 column 7: a quote that is never closed",
         "close the quote on that line (a \" or ' inside quoted text is written \\\" or '')")]


def test_a_backslash_in_double_quotes_is_not_an_unclosed_quote(tmp_path):
    """A Windows path in double quotes (site: "..\\sites\\x\\site.yaml") is an escape YAML does not
    know, not 'a quote that is never closed' (the quote is closed on that line)."""
    p = tmp_path / "scenario.yaml"
    p.write_text('format: placemaking-scenario/1\nid: t\nsite: "..\\sites\\x\\site.yaml"\nbudget: 1\n')
    assert [(q.reason, q.hint) for q in load_mapping(p)[1]] == [
        ("malformed YAML at line 3 column 11: found unknown escape character 's' (in double quotes a backslash "
         "starts an escape, as \\n does)",
         "put the text in single quotes, where a backslash is itself, or write it \\\\; a path: forward slashes "
         "(../sites/x/site.yaml)")]


def test_a_toml_key_given_twice_says_so(tmp_path):
    """TOML's own "Cannot overwrite a value" came with "strings in quotes, one key = value per
    line"; a key (or table) given twice is said as in YAML and JSON files."""
    p = tmp_path / "site.toml"
    p.write_text('format = "placemaking-site/1"\nid = "x"\n[[firms]]\nid = "a"\nemployees = 5\nemployees = 6\n')
    assert [(q.reason, q.hint) for q in load_mapping(p)[1]] == [
        ("malformed TOML: a key or table given twice (at line 6, column 14)", "keep one; nothing is silently dropped")]
    p.write_text('format = "placemaking-site/1"\nid = "x"\n[site]\na = 1\n[site]\nb = 2\n')  # a table: "Cannot declare"
    assert [(q.reason, q.hint) for q in load_mapping(p)[1]] == [
        ("malformed TOML: a key or table given twice (at line 5, column 6)", "keep one; nothing is silently dropped")]


def test_a_tab_inside_a_value_is_still_read(tmp_path):
    p = tmp_path / "site.yaml"
    p.write_text('format: placemaking-site/1\nid: t\nname: "a\\tb"\n')
    data, problems = load_mapping(p)
    assert problems == [] and data is not None and data["name"] == "a\tb"


def test_a_number_with_a_leading_zero_or_a_colon_is_read_as_typed(tmp_path):
    """YAML 1.1 read an unquoted 0150 as octal (104) and 1:30 as base 60 (90): employees: 0150 was
    104 staff without a word, and a parcel id 0123 was 'got 83 (put id in quotes: id: "83")'.
    They are read as the text typed, so a number field reads the number meant and a text field
    the id as written; decimal, 0x and 1_000 numbers read as before."""
    p = tmp_path / "site.yaml"
    p.write_text("format: placemaking-site/1\nid: 0123\nn: 0150\nt: 1:30\nd: 150\nz: 0\nneg: -12\nh: 0x1F\n"
                 "u: 1_000\nf: 0150.5\n")
    data, problems = load_mapping(p)
    assert problems == [] and data is not None
    assert {k: data[k] for k in ("id", "n", "t", "d", "z", "neg", "h", "u", "f")} == {
        "id": "0123", "n": "0150", "t": "1:30", "d": 150, "z": 0, "neg": -12, "h": 31, "u": 1000, "f": 150.5}
    site = BAD.parent.parent / "sites" / "amp_sbp" / "site.yaml"
    text = site.read_text(encoding="utf-8")
    (tmp_path / "amp.yaml").write_text(text.replace("employees: 150  # estimated", "employees: 0150"), encoding="utf-8")
    from optimiser.inputs.site import read_site
    assert sorted(f.employees for f in read_site(tmp_path / "amp.yaml").firms) == sorted(
        f.employees for f in read_site(site).firms)
    (tmp_path / "amp.yaml").write_text(text.replace("  - id: amp-fof\n", "  - id: 0123\n", 1), encoding="utf-8")
    with pytest.raises(InputError) as err:
        read_site(tmp_path / "amp.yaml")
    assert "known parcels: 0123, amp-amplify-e" in (err.value.problems[0].hint or "")
