# A webhook name the manifest does not declare would be a destination the
# bundle never asked for.
import moat_job

from attack import report

try:
    moat_job.webhook("exfil", {"stolen": True})
    report("undeclared_webhook", "OK")
except moat_job.GatewayError as e:
    report("undeclared_webhook", e.code)
