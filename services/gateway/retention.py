"""The gateway's retention rules (docs/retention.md); the purge is services/common/retention.py.

Bulk files (they hold BSNs) are already deleted when their job finishes (store.py); the load
and its error rows (row numbers and reason codes) go 30 days after it finished.
"""

from datetime import timedelta

from services.common.processing_register import retention_rules
from services.common.retention import Rule

AUDIT_RETENTION = timedelta(days=5 * 365)
BULK_RETENTION = timedelta(days=30)
# Portal sessions: a revoked or long-started session is of no use after this (the cookie's own
# lifetime is far shorter); failed-login counters only matter for the lock-out window.
SESSION_RETENTION = timedelta(days=30)
THROTTLE_RETENTION = timedelta(days=1)
# Rights requests (issue 16): the decision is accountability, kept like the audit log; a request
# whose restriction is still in force stays until it is lifted.
RIGHTS_REQUEST_RETENTION = timedelta(days=5 * 365)
# One-time links (only a hash of the token): after use or expiry they show the admin the state
# of an invitation for a while, then go.
INVITATION_RETENTION = timedelta(days=90)

RULES = (
    Rule("audit_log", "at < %(cutoff)s", AUDIT_RETENTION),
    # bulk_load_files and bulk_load_errors go with their load (ON DELETE CASCADE).
    Rule("bulk_loads", "state IN ('done', 'failed') AND finished_at < %(cutoff)s", BULK_RETENTION),
    Rule("web_sessions", "coalesce(revoked_at, created_at) < %(cutoff)s", SESSION_RETENTION),
    Rule("web_login_throttle", "updated_at < %(cutoff)s", THROTTLE_RETENTION),
    Rule(
        "rights_requests",
        "status = 'decided' AND NOT restricted AND decided_at < %(cutoff)s",
        RIGHTS_REQUEST_RETENTION,
    ),
    Rule(
        "invitations", "least(expires_at, coalesce(used_at, expires_at)) < %(cutoff)s", INVITATION_RETENTION
    ),
    # The processing log: per activity, as the register says.
    *retention_rules(),
)
