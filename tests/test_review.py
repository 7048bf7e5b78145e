"""Review tools: field-level diff and the stale-output gate."""
import copy
import shutil
import subprocess
import sys

from conftest import ROOT
from mlplatform.commands.gate import check
from mlplatform.review import diff_trees, field_diff, load_tree
from mlplatform.synth import synth


def _block(text: str, head: str) -> str:
    """`head` and the lines below it that are indented deeper (one YAML mapping entry)."""
    start = text.index(head)
    indent = len(head) - len(head.lstrip())
    end = start + len(head)
    for line in text[end:].splitlines(keepends=True):
        if len(line) - len(line.lstrip()) <= indent:
            break
        end += len(line)
    return text[start:end]


def test_diff_names_env_component_resource_and_field(tmp_path, env_dir):
    old, new = tmp_path / "old", tmp_path / "new"
    assert synth(None, old, env_dir=env_dir, log=lambda m: None) == 0
    text = (env_dir / "prod.yaml").read_text()
    (env_dir / "prod.yaml").write_text(text.replace("gpus: 24, pods: 500", "gpus: 32, pods: 500").replace(
        "  - name: vision\n    description: Computer vision training pipelines\n"
        "    quota: {cpu: \"128\", memory: 512Gi, limits_cpu: \"256\", limits_memory: 1Ti, gpus: 12, pods: 300, storage: 5Ti}\n", "")
        .replace('    vision: {weight: 1, capability: {cpu: "128", memory: 512Gi, gpus: 12}}\n', "")  # its Volcano queue
        .replace(_block(text, "    vision:\n"), ""))  # and its Ray cluster (ray.clusters.vision)
    assert synth(None, new, env_dir=env_dir, log=lambda m: None) == 0
    lines = diff_trees(load_tree(old), load_tree(new), ["dev", "staging", "prod"])
    assert lines[0] == "prod" and "  namespaces" in lines
    assert "    changed ResourceQuota/team-nlp/team-nlp-quota" in lines
    assert "        ~ spec.hard.requests.nvidia.com/gpu: '24' -> '32'" in lines
    assert "    removed Namespace/team-vision" in lines
    assert not any(line in ("dev", "staging") for line in lines)
    assert diff_trees(load_tree(old), load_tree(old)) == []


def test_diff_cli_exit_codes(tmp_path):
    a = tmp_path / "a"
    shutil.copytree(ROOT / "dist", a)
    shutil.copytree(ROOT / "rendered", tmp_path / "rendered")  # a dist/'s renders sit beside it
    app = [sys.executable, str(ROOT / "app.py"), "diff", "--dirs", str(a), str(ROOT / "dist")]
    p = subprocess.run(app, capture_output=True, text=True)
    assert p.returncode == 0 and "no changes" in p.stdout
    (a / "dev/namespaces/Namespace.mlflow.k8s.yaml").unlink()
    p = subprocess.run(app, capture_output=True, text=True)
    assert p.returncode == 1 and "added   Namespace/mlflow" in p.stdout


def test_diff_against_git_ref_runs():
    p = subprocess.run([sys.executable, str(ROOT / "app.py"), "diff", "--base", "HEAD"], capture_output=True,
                       text=True, cwd=ROOT)
    assert p.returncode in (0, 1), p.stderr
    assert p.stdout.startswith("diff HEAD -> working tree")


def test_check_fails_on_stale_output(tmp_path):
    dist, boot = tmp_path / "dist", tmp_path / "argocd"
    shutil.copytree(ROOT / "dist", dist)
    shutil.copytree(ROOT / "argocd", boot)
    shutil.copytree(ROOT / "rendered", tmp_path / "rendered")
    assert check(dist, boot) == []
    f = dist / "prod/namespaces/ResourceQuota.team-nlp-quota.k8s.yaml"
    f.write_text(f.read_text().replace("pods: \"500\"", "pods: \"5000\""))
    (boot / "dev/argo-cd.values.yaml").unlink()
    snap = tmp_path / "rendered/dev/volcano/Deployment.volcano-scheduler.yaml"
    snap.write_text(snap.read_text().replace("replicas: 1", "replicas: 2"))
    assert check(dist, boot) == ["differs: dist/prod/namespaces/ResourceQuota.team-nlp-quota.k8s.yaml",
                                 "only in fresh synth: argocd/dev/argo-cd.values.yaml",
                                 "differs: rendered/dev/volcano/Deployment.volcano-scheduler.yaml"]


def _git(repo, *args):
    return subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@example.com", *args], cwd=repo,
                          capture_output=True, text=True, check=True).stdout


def test_a_comparison_that_cannot_happen_is_an_error_not_an_empty_side(tmp_path, monkeypatch, capsys):
    """An unknown ref, a missing or empty folder, a base without dist/: exit 2 naming what is missing,
    never "every object added" followed by "guard: ok"."""
    import mlplatform.cli as cli

    empty = tmp_path / "empty"
    empty.mkdir()
    cases = [(["diff", "--base", "origin/mian"], "diff: 'origin/mian' names no commit in this clone"),
             (["diff", "--dirs", str(tmp_path / "nonexistent"), str(ROOT / "dist")],
              f"diff: --dirs OLD {tmp_path / 'nonexistent'} does not exist"),
             (["diff", "--dirs", str(ROOT / "dist"), str(tmp_path / "nonexistent")],
              f"diff: --dirs NEW {tmp_path / 'nonexistent'} does not exist"),
             (["diff", "--dirs", str(empty), str(ROOT / "dist")], f"diff: --dirs OLD {empty} holds no objects"),
             (["diff", "--dirs", str(ROOT / "dist"), str(ROOT / "dist"), "--envs", "qa"],
              "diff: --envs qa: no such env on either side (envs: dev, prod, staging)")]
    for argv, said in cases:
        assert cli.main(argv) == 2, argv
        out, err = capsys.readouterr()
        assert err.startswith(said) and err.rstrip().endswith("nothing was compared"), err
        assert "guard: ok" not in out and "added" not in out
    # a base commit that has no dist/
    repo = tmp_path / "repo"
    repo.mkdir()
    _git(repo, "init", "-q", "-b", "main")
    (repo / "README.md").write_text("no dist/ yet\n")
    _git(repo, "add", "README.md")
    _git(repo, "commit", "-q", "-m", "base")
    shutil.copytree(ROOT / "dist" / "dev", repo / "dist" / "dev")
    import mlplatform.commands.gate as gate
    monkeypatch.setattr(gate, "ROOT", repo)
    assert cli.main(["diff", "--base", "HEAD"]) == 2
    out, err = capsys.readouterr()
    assert err.startswith("diff: dist/ at HEAD does not exist") and "guard: ok" not in out


def test_the_guard_says_what_it_compared(tmp_path, capsys):
    """With renders on both sides, the guard judged dist/ and rendered/; with renders on one side only it
    judges dist/ and says the chart renders were not compared (instead of reading them as all removed)."""
    import mlplatform.cli as cli

    shutil.copytree(ROOT / "dist", tmp_path / "a" / "dist")
    shutil.copytree(ROOT / "rendered", tmp_path / "a" / "rendered")
    shutil.copytree(ROOT / "dist", tmp_path / "b" / "dist")  # no rendered/ beside it
    assert cli.main(["diff", "--dirs", str(tmp_path / "a" / "dist"), str(ROOT / "dist")]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[-1] == "guard: ok: nothing destructive in dist/ and rendered/ (envs: dev, prod, staging)"
    assert "guard: not compared: argocd/ (the bootstrap: AppProject, root Application, argo-cd values; applied " \
           "by hand, not by Argo CD's sync)" in out
    assert cli.main(["diff", "--dirs", str(tmp_path / "a" / "dist"), str(tmp_path / "b" / "dist")]) == 1
    out = capsys.readouterr().out.splitlines()
    assert out[-1] == "guard: ok: nothing destructive in dist/ (envs: dev, prod, staging)"
    assert "guard: not compared: rendered/ of dev, prod, staging: one side has no chart renders, so only the " \
           "Applications' chart sources were compared there, not the objects the charts make" in out


def test_field_diff_shows_what_changed():
    """Issue 14 item 2: elements added/removed, not the same truncated prefix on both sides; named list
    elements by name; multi-line text as a line diff; the differing part of a long scalar."""
    sa = [{"kind": "ServiceAccount", "name": f"team-{t}-runner", "namespace": f"team-{t}"} for t in ("nlp", "vision")]
    old = {"subjects": [{"kind": "Group", "apiGroup": "rbac.authorization.k8s.io", "name": "platform-admins"}, *sa],
           "egress": [{"to": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": n}}}]}
                      for n in ("mlflow", "kube-system", "monitoring")],
           "groups": [{"name": "serving", "rules": [
               {"alert": "VllmDown", "expr": "sum by (model) (\n  up{job=\"vllm\"}\n) == 0\n", "for": "5m"},
               {"record": "vllm:queue", "expr": "sum(vllm:num_requests_waiting)"}]}],
           "profileList": [{"slug": s, "kubespawner_override": {"cpu_limit": 4}} for s in ("cpu", "gpu-1", "gpu-2")],
           "env": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}],
           "annotation": "x" * 150 + "old-tail" + "y" * 40}
    new = copy.deepcopy(old)
    new["subjects"].insert(1, {"kind": "ServiceAccount", "name": "team-speech-runner", "namespace": "team-speech"})
    del new["egress"][1]
    new["groups"][0]["rules"][0]["expr"] = "sum by (model) (\n  up{job=\"vllm-router\"}\n) == 0\n"
    new["profileList"].insert(0, {"slug": "tiny", "kubespawner_override": {"cpu_limit": 1}})
    new["profileList"][2]["kubespawner_override"]["cpu_limit"] = 8  # gpu-1, now third
    new["env"] = [{"name": "Z", "value": "0"}, *new["env"]]
    new["annotation"] = "x" * 150 + "new-tail" + "y" * 40
    lines = list(field_diff(old, new))
    assert lines == list(field_diff(copy.deepcopy(old), copy.deepcopy(new)))  # deterministic
    assert lines == [
        f"~ annotation: ...{'x' * 20}old-tail{'y' * 15}... -> ...{'x' * 20}new-tail{'y' * 15}...",
        "- egress[1]: {to: [{namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: kube-system}}}]}",
        "+ env[Z]: {name: Z, value: '0'}",
        "~ groups[serving].rules[VllmDown].expr: text changed:",
        "    @@ -1,3 +1,3 @@",
        "     sum by (model) (",
        "    -  up{job=\"vllm\"}",
        "    +  up{job=\"vllm-router\"}",
        "     ) == 0",
        "+ profileList[tiny]: {kubespawner_override: {cpu_limit: 1}, slug: tiny}",
        "~ profileList[gpu-1].kubespawner_override.cpu_limit: 4 -> 8",
        "+ subjects[team-speech-runner]: {kind: ServiceAccount, name: team-speech-runner, namespace: team-speech}",
    ]
    # a reordering of named elements is one change at the list (the guard still sees it under its prefix)
    assert list(field_diff({"c": [{"name": "a"}, {"name": "b"}]}, {"c": [{"name": "b"}, {"name": "a"}]})) == [
        "~ c: order a, b -> order b, a"]
    # names that repeat are no names: matched by content instead
    dup = [{"name": "x", "v": 1}, {"name": "x", "v": 2}]
    assert list(field_diff({"c": dup}, {"c": dup[:1]})) == ["- c[1]: {name: x, v: 2}"]
