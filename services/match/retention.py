"""Match's retention rules (docs/retention.md); the purge itself is services/common/retention.py.

Involvements, member rows and matches are not purged by age here: they go with their signal
(erasure.py), which signal deletes at once (unjustified, objection) or after its archive
period, so a closed match goes when the last archive period of its signals ends.
"""

from datetime import timedelta

from services.common.processing_register import retention_rules
from services.common.retention import Rule

# The old access log (no longer written; the processing log replaced it) goes as it was
# planned: 5 years from the read.
ACCESS_LOG_RETENTION = timedelta(days=5 * 365)
# Hashes of erased signals only stop late redeliveries; the relay retries for far less.
ERASED_RETENTION = timedelta(days=30)
UNDELIVERABLE_RETENTION = timedelta(days=90)

RULES = (
    Rule("access_log", "read_at < %(cutoff)s", ACCESS_LOG_RETENTION),
    Rule("erased_signals", "erased_at < %(cutoff)s", ERASED_RETENTION),
    Rule("undeliverable_events", "parked_at < %(cutoff)s", UNDELIVERABLE_RETENTION),
    # Ids of peers' events already applied (random ids, no person): redeliveries come sooner.
    Rule("federation_processed", "processed_at < %(cutoff)s", ERASED_RETENTION),
    # The processing log: per activity, as the register says.
    *retention_rules(),
)
