"""Where reports live: chains/<chain-id>/reports/<job-name>/ per job, chains/<chain-id>/reports/chain/ per chain."""

from gtchain.logic import naming

SUMMARY = "summary.json"
FIGURE = "report.png"
HTML = "report.html"
CHAIN_DIR = "chain"  # never a job name: those start with the job name prefix and end in -a<attempt>


def job_report_prefix(chain_id: str, job_name: str) -> str:
    return f"{naming.reports_prefix(chain_id)}{job_name}/"


def chain_report_prefix(chain_id: str) -> str:
    return f"{naming.reports_prefix(chain_id)}{CHAIN_DIR}/"


def job_of_summary_key(chain_id: str, key: str) -> str | None:
    """The job a key under the chain's reports/ is the summary of; None for anything else."""
    rest = key.removeprefix(naming.reports_prefix(chain_id))
    job, _, name = rest.partition("/")
    if rest == key or name != SUMMARY or not job or job == CHAIN_DIR:
        return None
    return job
