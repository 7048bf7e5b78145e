"""ML platform generator: environments/*.yaml -> validated, byte-stable dist/<env>/ for Argo CD."""
import os as _os

# jsii (under cdk8s) prints a large banner on every start when Node 20 is past its end of life.
# The warning is about Node support dates, not about our output: silence it for Node 18/20.
_os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "18,20")

# jsonschema imports optional format checkers when their packages are installed. One of them,
# rfc3987-syntax (pulled in by JupyterHub's jupyter-events, which the tests use as the real
# consumer of our values), builds ~40 Lark grammars at import: seconds of CPU on every synth.
# We never check formats (CRD and chart schemas use them as hints), so keep it out.
import sys as _sys

_sys.modules.setdefault("rfc3987_syntax", None)  # type: ignore[arg-type]
