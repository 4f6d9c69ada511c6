# The job's own dataset works; another org's dataset file, named by its
# host path, is rejected.
import moat_job

from attack import report, target

rows = moat_job.query("select label from watchlist")
report("own_dataset_rows", len(rows))

path = target()["other_org_dataset"]
try:
    rows = moat_job.query(f"select * from read_parquet('{path}')")
    report("other_org_path", f"OK:{len(rows)}")
except moat_job.GatewayError as e:
    report("other_org_path", e.code)
