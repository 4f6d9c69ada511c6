# The environment must hold the run's own variables and nothing of the
# worker's. The token's value is never printed.
import os
import re

from attack import detail, report

env = dict(os.environ)
report("env_names", ",".join(sorted(env)))
for name in ["PATH", "HOME", "LANG", "PYTHONPATH", "MOAT_ORG", "MOAT_JOB", "MOAT_RUN_ID"]:
    report("env_" + name.lower(), env.get(name, "-"))

url = env.get("MOAT_GATEWAY_URL", "")
detail(f"MOAT_GATEWAY_URL={url}")
report("env_gateway_url", "LOOPBACK" if re.fullmatch(r"http://127\.0\.0\.1:[0-9]+", url) else "OTHER")
report("env_token", "SET" if len(env.get("MOAT_TOKEN", "")) >= 32 else "SHORT")
