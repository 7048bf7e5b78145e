"""The cdk8s writer: both jsii paths (per object / one Include) produce identical bytes."""
from mlplatform import write


def test_include_and_per_object_paths_are_byte_identical(rendered, tmp_path, monkeypatch):
    r = rendered["prod"]
    outs = []
    for threshold in (10_000, 0):
        monkeypatch.setattr(write, "INCLUDE_THRESHOLD", threshold)
        d = tmp_path / f"t{threshold}"
        write.write_envs([r], d / "dist", d / "argocd")
        outs.append(d)
    a = sorted(p.relative_to(outs[0]) for p in outs[0].rglob("*") if p.is_file())
    b = sorted(p.relative_to(outs[1]) for p in outs[1].rglob("*") if p.is_file())
    assert a == b and len(a) > 50
    for rel in a:
        assert (outs[0] / rel).read_bytes() == (outs[1] / rel).read_bytes(), rel
