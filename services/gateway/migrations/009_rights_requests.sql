-- Issue 16: the region's register of rights requests (AVG art. 15 access, art. 18
-- restriction, art. 21 objection). No BSN and no pseudonym: the person is named only by the
-- ids of the signals concerned, replaced by the objection ids once those signals are erased
-- (docs/rights-requests.md). Kept 5 years after the decision (docs/retention.md).
CREATE TABLE rights_requests (
    id                uuid        PRIMARY KEY,
    region            text        NOT NULL,
    kind              text        NOT NULL CHECK (kind IN ('access', 'objection', 'restriction')),
    requester         text        NOT NULL CHECK (requester IN ('person', 'legalRepresentative')),
    case_reference    text        NOT NULL DEFAULT '',
    received_on       date        NOT NULL,
    extension_months  integer     NOT NULL DEFAULT 0 CHECK (extension_months BETWEEN 0 AND 2),
    extension_reason  text        NOT NULL DEFAULT '',
    status            text        NOT NULL DEFAULT 'received'
                                  CHECK (status IN ('received', 'inProgress', 'extended', 'decided')),
    decision          text        NOT NULL DEFAULT '' CHECK (decision IN ('', 'upheld', 'rejected')),
    decision_reason   text        NOT NULL DEFAULT '',
    decided_at        timestamptz,
    restricted        boolean     NOT NULL DEFAULT false,
    restricted_at     timestamptz,
    signal_ids        text[]      NOT NULL DEFAULT '{}',
    objection_ids     text[]      NOT NULL DEFAULT '{}',
    created_at        timestamptz NOT NULL
);
CREATE INDEX rights_requests_open ON rights_requests (region, received_on) WHERE status <> 'decided';
CREATE INDEX rights_requests_decided ON rights_requests (decided_at) WHERE status = 'decided';
