-- A version's identity leaves out its build metadata, as semver orders them: 1.4.0+a and
-- 1.4.0+b are the same version for "already planned" and for the deploy lock. The column is
-- derived, so it can never disagree with `version`.
ALTER TABLE releases ADD COLUMN version_key TEXT GENERATED ALWAYS AS (
    CASE WHEN instr(version, '+') > 0 THEN substr(version, 1, instr(version, '+') - 1)
         ELSE version END
) VIRTUAL;
CREATE INDEX releases_by_version_key ON releases (version_key, environment);
