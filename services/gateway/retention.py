"""The gateway's retention rules (docs/retention.md); the purge is services/common/retention.py.

Bulk files (they hold BSNs) are already deleted when their job finishes (store.py); the load
and its error rows (row numbers and reason codes) go 30 days after it finished.
"""

from datetime import timedelta

from services.common.retention import Rule

AUDIT_RETENTION = timedelta(days=5 * 365)
BULK_RETENTION = timedelta(days=30)

RULES = (
    Rule("audit_log", "at < %(cutoff)s", AUDIT_RETENTION),
    # bulk_load_files and bulk_load_errors go with their load (ON DELETE CASCADE).
    Rule("bulk_loads", "state IN ('done', 'failed') AND finished_at < %(cutoff)s", BULK_RETENTION),
)
