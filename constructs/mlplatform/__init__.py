"""ML platform generator: environments/*.yaml -> validated, byte-stable dist/<env>/ for Argo CD."""
import os as _os

# jsii (under cdk8s) prints a large banner on every start when Node 20 is past its end of life.
# The warning is about Node support dates, not about our output: silence it for Node 18/20.
_os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "18,20")
