-- Statistics (issue 16): matches per month started, and per organisation.
CREATE INDEX matches_created_at ON matches (created_at);
CREATE INDEX match_members_organisation ON match_members (organisation_id, match_id);
