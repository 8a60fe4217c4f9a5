-- Who claimed on call during the release's verification, and when, as one JSON object.
ALTER TABLE releases ADD COLUMN on_call TEXT;
