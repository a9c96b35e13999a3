-- A round may show an expert the other experts' submitted scores of an entry (never who
-- they are) once the expert has submitted their own review of it. Off unless staff choose.
ALTER TABLE review_rounds ADD COLUMN show_others INTEGER NOT NULL DEFAULT 0;
