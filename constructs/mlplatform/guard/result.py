"""What the guard found: each refused, allowed or moved change, and the lines `check` and `diff` print."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable


@dataclass(frozen=True, order=True)
class Finding:
    env: str
    component: str  # "" for the env-wide prune limit
    object: str     # Kind/name, Kind/namespace/name, or the env name (prune limit)
    field: str
    old: str
    new: str
    why: str

    @property
    def where(self) -> str:
        return f"{self.env}/{self.component}/{self.object}" if self.component else self.env

    def line(self) -> str:
        return f"{self.where}: {self.field}: {self.old} -> {self.new}: {self.why}"


@dataclass
class GuardResult:
    envs: list[str]
    refused: list[Finding] = field(default_factory=list)
    allowed: list[tuple[Finding, str]] = field(default_factory=list)  # (finding, "file guard.allow[i]: reason")
    moves: list[str] = field(default_factory=list)
    stale: list[str] = field(default_factory=list)
    compared: str = "dist/"                                  # what was judged, for the summary
    not_compared: list[str] = field(default_factory=list)    # what wasn't, each said before the summary

    def scope(self, renders_skipped: Iterable[str], unseen: Iterable[str] = ()) -> None:
        """Record what the comparison covered: dist/ and rendered/ (minus `renders_skipped` envs, where
        one side has no chart renders), never argocd/, manifests the synth can't see (`unseen`), nor
        what only exists at run time."""
        skipped = sorted(e for e in renders_skipped if e in self.envs)
        with_r = [e for e in self.envs if e not in skipped]
        if not skipped:
            self.compared = "dist/ and rendered/"
        else:
            self.compared = "dist/" + (f" and rendered/ of {', '.join(with_r)}" if with_r else "")
            self.not_compared.append(
                f"rendered/ of {', '.join(skipped)}: one side has no chart renders, so only the Applications' chart "
                "sources were compared there, not the objects the charts make")
        self.not_compared.append("argocd/ (the bootstrap: AppProject, root Application, argo-cd values; applied by "
                                 "hand, not by Argo CD's sync)")
        unseen = sorted(unseen)
        if unseen:
            self.not_compared.append(f"{len(unseen)} upstream manifest(s) Argo CD applies that the synth can't see "
                                     f"(renders.UNSEEN: {', '.join(u.rsplit('/', 1)[-1] for u in unseen)})")
        self.not_compared.append("objects made at run time (operators, hooks) and immutability rules inside CRD "
                                 "schemas")

    def failed(self, allow_destructive: bool = False) -> bool:
        """Refused changes, or exceptions that no longer match anything (a stale entry would let a
        later change of the same field through unreviewed), fail the gate; the emergency flag lets
        everything through."""
        return bool(self.refused or self.stale) and not allow_destructive

    def report(self, allow_destructive: bool = False) -> list[str]:
        """The lines `check` and `diff` print, ending with the summary."""
        out: list[str] = []
        if self.refused:
            out.append(f"guard: {len(self.refused)} destructive change(s)"
                       + (" (NOT refused: --allow-destructive):" if allow_destructive else " refused:"))
            out += [f.line() for f in self.refused]
        if self.allowed:
            out.append(f"guard: {len(self.allowed)} destructive change(s) let through by guard.allow:")
            out += [f"{f.line()} [allowed by {how}]" for f, how in self.allowed]
        out += [f"guard: moved: {m}" for m in self.moves]
        out += [f"guard: stale exception: {s}" for s in self.stale]
        out += [f"guard: not compared: {s}" for s in self.not_compared]
        envs = ", ".join(self.envs) or "none"
        if not self.refused and self.stale and not allow_destructive:
            out.append(f"guard: FAILED: {len(self.stale)} guard.allow entr{'y' if len(self.stale) == 1 else 'ies'} "
                       "match nothing destructive any more: remove them from the env file")
        elif not self.refused:
            out.append(f"guard: ok: nothing destructive in {self.compared} (envs: {envs}"
                       + (f"; {len(self.allowed)} allowed by guard.allow)" if self.allowed else ")"))
        elif allow_destructive:
            out.append(f"guard: --allow-destructive: {len(self.refused)} destructive change(s) let through without a "
                       "recorded reason. This flag is for emergencies; prefer a guard.allow entry in the env file so "
                       "the reason is reviewed in the PR")
        else:
            bad = ", ".join(sorted({f.env for f in self.refused}))
            first = self.refused[0]
            out.append(f"guard: FAILED: {len(self.refused)} destructive change(s) in {bad}. Change course, or let "
                       "exactly that change through with an entry under guard.allow in environments/<env>.yaml, "
                       f"e.g. in environments/{first.env}.yaml: {allow_entry(first)}")
        return out


def allow_entry(f: Finding) -> str:
    """The guard.allow entry (YAML flow mapping) that lets exactly finding `f` through: the object as
    the allow-list names it (Kind/namespace/name, or the env for the prune limit), not the printed
    env/component/ prefix."""
    import yaml

    entry = {"object": f.object, "field": f.field, "reason": "<why it is safe, for the PR's reviewers>"}
    return yaml.safe_dump(entry, default_flow_style=True, sort_keys=False, width=10_000).strip()
