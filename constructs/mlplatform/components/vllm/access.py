"""What the model servers read: the Hugging Face token (gated weights) and the API key clients
send, and the Secrets they land in per team namespace. (The model routes are built next to the
Ingresses: objects.py `model_routes`.)"""
from __future__ import annotations

from ...kit.secrets import Credential, SecretWant

HF_TOKEN = "huggingface-token"  # every team namespace: key `token` (mounted as a file)
VLLM_API_KEY = "vllm-api-key"  # team namespaces serving models: key `api-key` (env VLLM_API_KEY)
HF = "huggingface/token"  # catalog keys
API_KEY = "serving/api-key"

CREDENTIALS = (
    Credential(HF, ("token",), "Hugging Face token for gated model downloads"),
    Credential(API_KEY, ("api-key",),
               "API key clients send as `Authorization: Bearer` to every vLLM model endpoint (/v1) of the env"),
)


def secrets(env) -> list[SecretWant]:
    """The Hugging Face token in every team namespace (a team's models download with its token);
    the API key in each team namespace that serves a model."""
    out = [SecretWant(HF_TOKEN, env.team_namespace(team), {"token": (HF, "token")}, per_namespace=True)
           for team in env.teams]
    serving = sorted({m.team for m in env.serving.models} & set(t.name for t in env.teams)) if env.serving.enabled else []
    for name in serving:
        ns = env.team_namespace(next(t for t in env.teams if t.name == name))
        out.append(SecretWant(VLLM_API_KEY, ns, {"api-key": (API_KEY, "api-key")}, per_namespace=True))
    return out
