"""Notify's retention rules (docs/retention.md); the purge itself is services/common/retention.py.

Erasure (erasure.py) removes what concerns a deleted signal at once; these rules bound the
rest: notices are a mailbox, not an archive.
"""

from datetime import timedelta

from services.common.processing_register import retention_rules
from services.common.retention import Rule

INBOX_RETENTION = timedelta(days=365)
# Finished deliveries (sent, dead, folded into a digest) keep their stored bodies for support.
DELIVERY_RETENTION = timedelta(days=90)
EVENTS_APPLIED_RETENTION = timedelta(days=90)
# Account mails hold a one-time link: gone an hour after sending (or dead-lettering); a
# dead invitation is re-sent by inviting again, not by retrying the old body.
ACCOUNT_MAIL_RETENTION = timedelta(hours=1)

RULES = (
    Rule("inbox_items", "created_at < %(cutoff)s", INBOX_RETENTION),
    Rule(
        "deliveries",
        "state IN ('sent', 'dead', 'digested') AND created_at < %(cutoff)s",
        DELIVERY_RETENTION,
    ),
    Rule(
        "deliveries",
        "kind IN ('account_invitation', 'account_reset', 'account_confirm_email', 'account_changed')"
        " AND state IN ('sent', 'dead') AND created_at < %(cutoff)s",
        ACCOUNT_MAIL_RETENTION,
    ),
    Rule("events_applied", "applied_at < %(cutoff)s", EVENTS_APPLIED_RETENTION),
    # Who a notice is about (sealed), as long as its inbox item may still be read and logged.
    Rule("notice_subjects", "created_at < %(cutoff)s", INBOX_RETENTION),
    # The processing log: per activity, as the register says.
    *retention_rules(),
)
