-- Deadline day.
--
-- The loop guard no longer drops replies over a per-recipient daily count: what it holds
-- back is `held` (kept, shown to staff, releasable). Rows the old cap marked `capped` were
-- never sent; they become `held` so staff can release them. The delivery log keeps the
-- outcome it recorded at the time.
UPDATE outbox SET state = 'held' WHERE state = 'capped';

-- What the loop guard compares: a fingerprint of the message's content (its text without
-- quoted lines, and its files), and whether it answers one of our own mails while carrying
-- no file (an auto-responder that quotes our receipt looks like that).
ALTER TABLE messages ADD COLUMN fingerprint TEXT;
ALTER TABLE messages ADD COLUMN bare_answer INTEGER NOT NULL DEFAULT 0;
CREATE INDEX messages_sender_created ON messages(sender COLLATE NOCASE, created_at);

-- A first run on a mailbox that already holds mail: the highest UID present when this data
-- folder first opened the folder. Messages up to it are old mail (filed without a reply
-- unless `[mailbox] existing_mail = "answer"`); NULL for folders watched before 0006.
ALTER TABLE imap_folders ADD COLUMN history_uid INTEGER;

-- A delivery attempt claims its mail first (`lndx run` and a command such as
-- `report send-now` may deliver the same outbox at once; each mail is attempted by one).
-- A claim left by a process killed before its attempt was recorded is cleared when
-- `lndx run` starts.
ALTER TABLE outbox ADD COLUMN claimed_until TEXT;
