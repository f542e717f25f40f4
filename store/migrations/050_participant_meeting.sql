-- Each participant row keeps its own meeting date and type (the sheet row carries both), so
-- measures over participants (sectors at the round table) read one table instead of joining
-- 1 M participant rows to their meetings by a text key. Participants always arrive, are
-- superseded and are rolled back together with their meetings, in the same batch.
ALTER TABLE meeting_participants ADD COLUMN meeting_date DATE;
ALTER TABLE meeting_participants ADD COLUMN meeting_type VARCHAR;
UPDATE meeting_participants AS p
SET meeting_date = m.meeting_date, meeting_type = m.meeting_type
FROM meetings AS m
WHERE m.meeting_id = p.meeting_id AND m.authority_code = p.authority_code AND m.batch_id = p.batch_id;
